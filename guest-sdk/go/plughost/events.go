package plughost

import (
	"encoding/json"
	"strings"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
	witevents "plughost/wit/imports/plughost_platform_events"
	witqueue "plughost/wit/imports/plughost_platform_queue"
)

// Emit publishes `payload` (any Go value, as JSON) on `topic` and returns the event id.
// Delivered only if the invocation succeeds.
func Emit(topic string, payload any) (string, error) {
	text, err := jsonText(payload)
	if err != nil {
		return "", err
	}
	return unwrap(witevents.Emit(topic, text))
}

// Event is an event delivered to a subscription ([events] subscribe).
type Event struct {
	ID      string
	Topic   string
	Payload json.RawMessage
	Source  string // the module that emitted it
	Time    string // RFC 3339, UTC
}

// EventHandler handles the events of one topic pattern.
type EventHandler func(event *Event) error

type subscription struct {
	pattern string
	handler EventHandler
}

var subscriptions []subscription

// On handles the events whose topic matches `pattern` (`*` is any run of characters); the
// first matching pattern wins.
func On(pattern string, handler EventHandler) {
	subscriptions = append(subscriptions, subscription{pattern, handler})
}

func dispatchEvent(event *Event) error {
	if len(subscriptions) == 0 {
		return ErrInternal("the module handles no events for '%s'; call plughost.On in an init function", event.Topic)
	}
	for _, s := range subscriptions {
		if topicMatches(s.pattern, event.Topic) {
			return s.handler(event)
		}
	}
	return ErrInvalid("the module has no subscription matching '%s'", event.Topic)
}

// topicMatches reports whether `topic` matches `pattern`, where `*` is any run of characters.
func topicMatches(pattern, topic string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == topic
	}
	if !strings.HasPrefix(topic, pattern[:star]) {
		return false
	}
	rest := pattern[star+1:]
	for at := star; at <= len(topic); at++ {
		if topicMatches(rest, topic[at:]) {
			return true
		}
	}
	return false
}

// Enqueue puts `payload` (any Go value, as JSON) on `queue`, to run no sooner than `delayMs`
// from now with `maxAttempts` attempts (0: the host's default), and returns the job id.
// Enqueued only if the invocation succeeds.
func Enqueue(queue string, payload any, delayMs uint64, maxAttempts uint32) (string, error) {
	text, err := jsonText(payload)
	if err != nil {
		return "", err
	}
	options := witqueue.DispatchOptions{DelayMs: delayMs, MaxAttempts: witTypes.None[uint32]()}
	if maxAttempts > 0 {
		options.MaxAttempts = witTypes.Some(maxAttempts)
	}
	return unwrap(witqueue.Dispatch(queue, text, options))
}

// Job is a job of one of the module's queues ([queue] handles).
type Job struct {
	ID          string
	Queue       string
	Payload     json.RawMessage
	Attempt     uint32 // from 1
	MaxAttempts uint32
	LastError   string // why the previous attempt failed, "" on the first
}

// JobHandler runs the jobs of one queue; an error fails the attempt (retried until
// MaxAttempts).
type JobHandler func(job *Job) error

var jobHandlers = map[string]JobHandler{}

// OnJob runs the jobs of `queue` with `handler`.
func OnJob(queue string, handler JobHandler) { jobHandlers[queue] = handler }

func dispatchJob(job *Job) error {
	if len(jobHandlers) == 0 {
		return ErrInternal("the module handles no jobs of queue '%s'; call plughost.OnJob in an init function", job.Queue)
	}
	handler, ok := jobHandlers[job.Queue]
	if !ok {
		return ErrInvalid("the module has no handler for queue '%s'", job.Queue)
	}
	return handler(job)
}
