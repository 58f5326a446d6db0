//! The sockets of every namespace on this host: rooms, users and presence, and bounded
//! per-socket send queues. A socket whose queue is full is a client that cannot keep up:
//! it is dropped (and counted) rather than slowing anyone else.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{Notify, mpsc};

use super::WsConfig;
use crate::backplane::Backplane;

/// A frame on its way to a client: shared text (a refcount per socket, no copy).
pub type Frame = axum::extract::ws::Utf8Bytes;

/// How the host tells a socket's writer to close it.
#[derive(Debug, Default)]
pub struct Kill {
    notify: Notify,
    reason: Mutex<Option<(u16, String)>>,
}

impl Kill {
    /// Asks the writer to close with `code` and `reason`; the first reason given wins.
    pub fn close(&self, code: u16, reason: &str) {
        self.reason
            .lock()
            .unwrap()
            .get_or_insert_with(|| (code, reason.to_string()));
        self.notify.notify_one();
    }

    /// Waits until asked to close.
    pub async fn wait(&self) {
        self.notify.notified().await;
    }

    /// The close code and reason asked for; a normal close (1000) when none was.
    pub fn reason(&self) -> (u16, String) {
        self.reason
            .lock()
            .unwrap()
            .clone()
            .unwrap_or((1000, String::new()))
    }
}

struct Socket {
    user: Option<String>,
    tx: mpsc::Sender<Frame>,
    kill: Arc<Kill>,
    rooms: HashSet<String>,
}

#[derive(Default)]
struct Namespace {
    sockets: HashMap<String, Socket>,
    rooms: HashMap<String, HashSet<String>>,
}

/// Counters of the hub.
#[derive(Debug, Default, Serialize)]
pub struct WsMetrics {
    /// Sockets accepted.
    pub connections: AtomicU64,
    /// Sockets open now.
    pub open: AtomicU64,
    /// Frames received from clients.
    pub messages_in: AtomicU64,
    /// Frames queued to clients.
    pub messages_out: AtomicU64,
    /// Clients dropped because they could not keep up.
    pub slow_client_drops: AtomicU64,
    /// Handshakes and frames refused (auth, on-connect, invalid frames).
    pub rejections: AtomicU64,
}

/// Every namespace's sockets.
#[derive(Default)]
pub struct Hub {
    /// host.toml's `[ws]`: authentication, frame and rate limits, timeouts.
    settings: WsConfig,
    namespaces: Mutex<HashMap<String, Namespace>>,
    metrics: WsMetrics,
    /// The backplane and this host's id on it, when there is one.
    backplane: OnceLock<(Arc<dyn Backplane>, String)>,
    /// Other hosts' users per (namespace, room; "" for the whole namespace), by host, with
    /// when each host last said so.
    remote: Mutex<HashMap<(String, String), RemotePresence>>,
}

impl Hub {
    /// An empty hub with host.toml's `[ws]` settings.
    pub fn new(settings: WsConfig) -> Hub {
        Hub {
            settings,
            ..Hub::default()
        }
    }

    /// host.toml's `[ws]` settings.
    pub fn settings(&self) -> &WsConfig {
        &self.settings
    }
}

/// Users of one room on other hosts: host id → (when it last said so, users).
type RemotePresence = HashMap<String, (Instant, Vec<String>)>;

/// How often each host repeats its presence, and when silence means it is gone.
const PRESENCE_EVERY: Duration = Duration::from_secs(2);
const PRESENCE_EXPIRES: Duration = Duration::from_secs(7);

/// Backplane channels of WebSocket frames: `plughost.ws.NAMESPACE`.
const CHANNEL_PREFIX: &str = "plughost.ws.";

/// A frame on its way to the sockets of other hosts.
#[derive(Serialize, Deserialize)]
struct Remote {
    origin: String,
    namespace: String,
    /// `socket`, `room` or `all`.
    kind: String,
    name: String,
    frame: String,
}

impl Hub {
    /// Adds a socket; an authenticated one joins `user:{id}`.
    pub fn register(
        &self,
        namespace: &str,
        socket_id: &str,
        user: Option<String>,
        tx: mpsc::Sender<Frame>,
        kill: Arc<Kill>,
    ) {
        let mut namespaces = self.namespaces.lock().unwrap();
        let ns = namespaces.entry(namespace.to_string()).or_default();
        let user_room = user.as_ref().map(|u| format!("user:{u}"));
        ns.sockets.insert(
            socket_id.to_string(),
            Socket {
                user,
                tx,
                kill,
                rooms: HashSet::new(),
            },
        );
        if let Some(room) = user_room {
            join_locked(ns, socket_id, &room);
        }
        self.metrics.connections.fetch_add(1, Ordering::Relaxed);
        self.metrics.open.fetch_add(1, Ordering::Relaxed);
        drop(namespaces);
        self.announce(namespace, "");
    }

    /// Removes a socket from its namespace and rooms.
    pub fn unregister(&self, namespace: &str, socket_id: &str) {
        let mut namespaces = self.namespaces.lock().unwrap();
        let Some(ns) = namespaces.get_mut(namespace) else {
            return;
        };
        let Some(socket) = ns.sockets.remove(socket_id) else {
            return;
        };
        for room in &socket.rooms {
            if let Some(members) = ns.rooms.get_mut(room) {
                members.remove(socket_id);
                if members.is_empty() {
                    ns.rooms.remove(room);
                }
            }
        }
        self.metrics.open.fetch_sub(1, Ordering::Relaxed);
        drop(namespaces);
        self.announce(namespace, "");
        for room in &socket.rooms {
            self.announce(namespace, room);
        }
    }

    /// Puts a socket in a room.
    pub fn join(&self, namespace: &str, socket_id: &str, room: &str) {
        let mut namespaces = self.namespaces.lock().unwrap();
        if let Some(ns) = namespaces.get_mut(namespace) {
            join_locked(ns, socket_id, room);
        }
        drop(namespaces);
        self.announce(namespace, room);
    }

    /// Takes a socket out of a room.
    pub fn leave(&self, namespace: &str, socket_id: &str, room: &str) {
        let mut namespaces = self.namespaces.lock().unwrap();
        let Some(ns) = namespaces.get_mut(namespace) else {
            return;
        };
        if let Some(socket) = ns.sockets.get_mut(socket_id) {
            socket.rooms.remove(room);
        }
        if let Some(members) = ns.rooms.get_mut(room) {
            members.remove(socket_id);
            if members.is_empty() {
                ns.rooms.remove(room);
            }
        }
        drop(namespaces);
        self.announce(namespace, room);
    }

    /// Queues a frame to the sockets chosen by `target`; returns how many got it.
    pub fn send(&self, namespace: &str, target: Target<'_>, frame: Frame) -> usize {
        let mut slow = Vec::new();
        let mut sent = 0;
        {
            let namespaces = self.namespaces.lock().unwrap();
            let Some(ns) = namespaces.get(namespace) else {
                return 0;
            };
            let mut deliver = |id: &String, socket: &Socket| match socket.tx.try_send(frame.clone())
            {
                Ok(()) => sent += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    slow.push((id.clone(), socket.kill.clone()))
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            };
            match target {
                Target::Socket(id) => {
                    if let Some((id, s)) = ns.sockets.get_key_value(id) {
                        deliver(id, s);
                    }
                }
                Target::Room(room) => {
                    for id in ns.rooms.get(room).into_iter().flatten() {
                        if let Some((id, s)) = ns.sockets.get_key_value(id) {
                            deliver(id, s);
                        }
                    }
                }
                Target::All => {
                    for (id, s) in &ns.sockets {
                        deliver(id, s);
                    }
                }
            }
        }
        self.metrics
            .messages_out
            .fetch_add(sent as u64, Ordering::Relaxed);
        for (id, kill) in slow {
            self.metrics
                .slow_client_drops
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(namespace, socket_id = %id, "dropping a client that cannot keep up with its messages");
            kill.close(1013, "too slow: the send queue is full");
            self.unregister(namespace, &id);
        }
        sent
    }

    /// Asks every socket on this host to close with `code` (e.g. 1001 when the host stops).
    pub fn close_all(&self, code: u16, reason: &str) {
        let namespaces = self.namespaces.lock().unwrap();
        for socket in namespaces.values().flat_map(|ns| ns.sockets.values()) {
            socket.kill.close(code, reason);
        }
    }

    /// Waits until no socket is open here, or `limit` has passed.
    pub async fn drained(&self, limit: Duration) {
        let start = Instant::now();
        while self.metrics.open.load(Ordering::Relaxed) > 0 && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Joins the backplane: frames sent to rooms, users, sockets and whole namespaces also
    /// reach the sockets of the other hosts.
    pub async fn attach(self: &Arc<Self>, backplane: Arc<dyn Backplane>) -> Result<(), String> {
        let host_id = uuid::Uuid::new_v4().to_string();
        let mut incoming = backplane.subscribe(CHANNEL_PREFIX.to_string()).await?;
        let hub = Arc::downgrade(self);
        let me = host_id.clone();
        tokio::spawn(async move {
            while let Some((_, payload)) = incoming.recv().await {
                let Some(hub) = hub.upgrade() else { return };
                let Ok(remote) = serde_json::from_slice::<Remote>(&payload) else {
                    continue;
                };
                if remote.origin == me {
                    continue;
                }
                if remote.kind == "presence" {
                    let users = serde_json::from_str(&remote.frame).unwrap_or_default();
                    hub.remember(&remote.origin, &remote.namespace, &remote.name, users);
                    continue;
                }
                let target = match remote.kind.as_str() {
                    "socket" => Target::Socket(&remote.name),
                    "room" => Target::Room(&remote.name),
                    _ => Target::All,
                };
                hub.send(&remote.namespace, target, Frame::from(remote.frame));
            }
        });
        let _ = self.backplane.set((backplane, host_id));
        let hub = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRESENCE_EVERY);
            loop {
                every.tick().await;
                let Some(hub) = hub.upgrade() else { return };
                hub.announce_all();
            }
        });
        Ok(())
    }

    /// Tells the other hosts who is in `room` here ("" is the whole namespace).
    fn announce(&self, namespace: &str, room: &str) {
        if self.backplane.get().is_none() {
            return;
        }
        let users = self.local_presence(namespace, (!room.is_empty()).then_some(room));
        self.broadcast_remote(
            namespace,
            "presence",
            room,
            serde_json::to_string(&users).unwrap_or_default(),
        );
    }

    fn announce_all(&self) {
        let rooms: Vec<(String, String)> = {
            let namespaces = self.namespaces.lock().unwrap();
            namespaces
                .iter()
                .flat_map(|(ns, state)| {
                    std::iter::once((ns.clone(), String::new()))
                        .chain(state.rooms.keys().map(move |r| (ns.clone(), r.clone())))
                })
                .collect()
        };
        for (ns, room) in rooms {
            self.announce(&ns, &room);
        }
    }

    fn remember(&self, origin: &str, namespace: &str, room: &str, users: Vec<String>) {
        let mut remote = self.remote.lock().unwrap();
        let hosts = remote
            .entry((namespace.to_string(), room.to_string()))
            .or_default();
        if users.is_empty() {
            hosts.remove(origin);
        } else {
            hosts.insert(origin.to_string(), (Instant::now(), users));
        }
    }

    fn broadcast_remote(&self, namespace: &str, kind: &str, name: &str, frame: String) {
        let Some((backplane, origin)) = self.backplane.get() else {
            return;
        };
        let remote = Remote {
            origin: origin.clone(),
            namespace: namespace.to_string(),
            kind: kind.into(),
            name: name.to_string(),
            frame,
        };
        let channel = format!("{CHANNEL_PREFIX}{namespace}");
        crate::backplane::publish_json(backplane, channel, remote, "a WebSocket frame");
    }

    /// Sends here and, through the backplane, on every other host (unless the target is a
    /// socket of this host, such as a reply's).
    pub fn publish(&self, namespace: &str, target: Target<'_>, frame: Frame) {
        let elsewhere = match target {
            Target::Socket(id) if self.has_socket(namespace, id) => None,
            Target::Socket(id) => Some(("socket", id)),
            Target::Room(room) => Some(("room", room)),
            Target::All => Some(("all", "")),
        };
        if let Some((kind, name)) = elsewhere {
            self.broadcast_remote(namespace, kind, name, frame.as_str().to_string());
        }
        self.send(namespace, target, frame);
    }

    fn has_socket(&self, namespace: &str, socket_id: &str) -> bool {
        let namespaces = self.namespaces.lock().unwrap();
        namespaces
            .get(namespace)
            .is_some_and(|ns| ns.sockets.contains_key(socket_id))
    }

    /// The users online in the namespace, or in a room, on every host: sorted, each once.
    pub fn presence(&self, namespace: &str, room: Option<&str>) -> Vec<String> {
        let mut users: BTreeSet<String> =
            self.local_presence(namespace, room).into_iter().collect();
        let remote = self.remote.lock().unwrap();
        if let Some(hosts) = remote.get(&(namespace.to_string(), room.unwrap_or("").to_string())) {
            for (seen, theirs) in hosts.values() {
                if seen.elapsed() < PRESENCE_EXPIRES {
                    users.extend(theirs.iter().cloned());
                }
            }
        }
        users.into_iter().collect()
    }

    /// The users online here only.
    fn local_presence(&self, namespace: &str, room: Option<&str>) -> Vec<String> {
        let namespaces = self.namespaces.lock().unwrap();
        let Some(ns) = namespaces.get(namespace) else {
            return Vec::new();
        };
        let users: BTreeSet<&String> = match room {
            Some(room) => ns
                .rooms
                .get(room)
                .into_iter()
                .flatten()
                .filter_map(|id| ns.sockets.get(id)?.user.as_ref())
                .collect(),
            None => ns
                .sockets
                .values()
                .filter_map(|s| s.user.as_ref())
                .collect(),
        };
        users.into_iter().cloned().collect()
    }

    /// The hub's counters.
    pub fn metrics(&self) -> &WsMetrics {
        &self.metrics
    }
}

/// Which sockets a frame goes to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// One socket.
    Socket(&'a str),
    /// Every socket in a room.
    Room(&'a str),
    /// Every socket of the namespace.
    All,
}

fn join_locked(ns: &mut Namespace, socket_id: &str, room: &str) {
    let Some(socket) = ns.sockets.get_mut(socket_id) else {
        return;
    };
    socket.rooms.insert(room.to_string());
    ns.rooms
        .entry(room.to_string())
        .or_default()
        .insert(socket_id.to_string());
}

/// A frame `{"event", "data", "id"?}`; `data` is JSON the caller has checked, copied in
/// as it is (no parse and re-serialization per frame).
pub fn frame(event: &str, data: &RawValue, id: Option<&str>) -> Frame {
    let quoted = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let mut text = String::with_capacity(event.len() + data.get().len() + 32);
    text.push_str(r#"{"event":"#);
    text.push_str(&quoted(event));
    text.push_str(r#","data":"#);
    text.push_str(data.get());
    if let Some(id) = id {
        text.push_str(r#","id":"#);
        text.push_str(&quoted(id));
    }
    text.push('}');
    Frame::from(text)
}

/// An error frame `{"event": "error", "data": {"code", "message"}}`.
pub fn error_frame(code: &str, message: &str, id: Option<&str>) -> Frame {
    let data =
        serde_json::value::to_raw_value(&serde_json::json!({"code": code, "message": message}))
            .expect("a JSON object serializes");
    frame("error", &data, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> Box<RawValue> {
        RawValue::from_string("1".into()).unwrap()
    }

    #[test]
    fn frames_carry_the_data_as_given_and_escape_names() {
        let data = RawValue::from_string(r#"{"text":"hi"}"#.into()).unwrap();
        let text = frame("say \"x\"", &data, Some("7"));
        let parsed: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"event": "say \"x\"", "data": {"text": "hi"}, "id": "7"})
        );
        let error: serde_json::Value =
            serde_json::from_str(error_frame("bad", "no", None).as_str()).unwrap();
        assert_eq!(
            error,
            serde_json::json!({"event": "error", "data": {"code": "bad", "message": "no"}})
        );
    }

    fn socket(hub: &Hub, id: &str, user: Option<&str>, capacity: usize) -> mpsc::Receiver<Frame> {
        let (tx, rx) = mpsc::channel(capacity);
        hub.register("/chat", id, user.map(str::to_string), tx, Arc::default());
        rx
    }

    #[test]
    fn rooms_users_and_presence_follow_joins_and_leaves() {
        let hub = Hub::default();
        let mut a1 = socket(&hub, "a1", Some("ada"), 8);
        let mut a2 = socket(&hub, "a2", Some("ada"), 8);
        let mut b = socket(&hub, "b", Some("bob"), 8);
        hub.join("/chat", "a1", "lobby");
        hub.join("/chat", "b", "lobby");
        assert_eq!(hub.presence("/chat", Some("lobby")), ["ada", "bob"]);
        assert_eq!(hub.presence("/chat", None), ["ada", "bob"]);
        assert_eq!(
            hub.send("/chat", Target::Room("user:ada"), frame("x", &one(), None)),
            2
        );
        assert!(a1.try_recv().is_ok() && a2.try_recv().is_ok() && b.try_recv().is_err());
        hub.unregister("/chat", "b");
        assert_eq!(hub.presence("/chat", Some("lobby")), ["ada"]);
        hub.leave("/chat", "a1", "lobby");
        assert!(hub.presence("/chat", Some("lobby")).is_empty());
    }

    #[test]
    fn a_client_that_cannot_keep_up_is_dropped_and_counted() {
        let hub = Hub::default();
        let _slow = socket(&hub, "slow", None, 1);
        let mut fast = socket(&hub, "fast", None, 8);
        for _ in 0..3 {
            hub.send("/chat", Target::All, frame("x", &one(), None));
            let _ = fast.try_recv();
        }
        assert_eq!(hub.metrics().slow_client_drops.load(Ordering::Relaxed), 1);
        assert_eq!(
            hub.send("/chat", Target::Socket("slow"), frame("x", &one(), None)),
            0
        );
        assert_eq!(
            hub.send("/chat", Target::Socket("fast"), frame("x", &one(), None)),
            1
        );
    }
}
