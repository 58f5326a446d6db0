//! `host queue dead|retry`: the dead letters in the host's database.

use anyhow::bail;
use clap::Subcommand;

use super::database::DatabaseArgs;

use crate::capabilities::orm::backend::Pool;
use crate::capabilities::queue::store;

/// The `queue` subcommands.
#[derive(Subcommand)]
pub enum QueueCommand {
    /// List the jobs that used up their attempts.
    Dead(DatabaseArgs),
    /// Re-drive a dead job: it becomes ready now, with its attempts counted afresh.
    Retry {
        /// The job id (from `host queue dead`).
        id: String,
        #[command(flatten)]
        args: DatabaseArgs,
    },
}

/// Runs a `queue` subcommand.
pub fn run(command: QueueCommand) -> anyhow::Result<()> {
    super::database::block_on(dispatch(command))
}

async fn dispatch(command: QueueCommand) -> anyhow::Result<()> {
    let args = match &command {
        QueueCommand::Dead(a) | QueueCommand::Retry { args: a, .. } => a,
    };
    let config = args.host_config()?;
    let pool = args.connect(&config).await?;
    store::ensure_table(&pool).await?;
    let result = match command {
        QueueCommand::Dead(_) => list(&pool).await,
        QueueCommand::Retry { id, .. } => retry(&pool, &id).await,
    };
    pool.close().await;
    result
}

async fn list(pool: &Pool) -> anyhow::Result<()> {
    let dead = store::dead(pool).await?;
    for job in &dead {
        println!(
            "{}  tenant={} queue={} attempts={} source={}\n    payload: {}\n    last error: {}",
            job.id,
            job.tenant,
            job.queue,
            job.attempts,
            job.source,
            store::shorten(job.payload.clone(), 1024),
            job.last_error.as_deref().unwrap_or("-")
        );
    }
    println!("{} dead job(s)", dead.len());
    Ok(())
}

async fn retry(pool: &Pool, id: &str) -> anyhow::Result<()> {
    if !store::retry(pool, id).await? {
        bail!("no dead job with id {id}; list them with `host queue dead`");
    }
    println!("job {id} is ready again");
    Ok(())
}
