//! Benchmark fixture: handles every event and job by doing nothing, so a benchmark
//! measures the host's delivery and queue machinery.

use plughost_sdk::Result;
use plughost_sdk::events::Event;
use plughost_sdk::queue::Job;

struct Sink;

impl plughost_sdk::Module for Sink {
    fn on_event(_: Event) -> Result<()> {
        Ok(())
    }

    fn handle_job(_: Job) -> Result<()> {
        Ok(())
    }
}

plughost_sdk::export_module!(Sink);
