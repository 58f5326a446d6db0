//! Integration tests: a real `host` process, real components built from
//! `examples/` and `tests/modules/` (by `scripts/test`, once per run), driven over HTTP.

mod databases;
mod harness;

mod browser;
mod c_lang;
mod cli;
mod cluster;
mod dev;
mod events;
mod files;
mod go_lang;
mod grants;
mod hostile;
mod hot_swap;
mod http;
mod javascript;
mod limits;
mod logging;
mod mail;
mod orm;
mod python;
mod queue;
mod shop;
mod standard;
mod startup;
mod storage;
mod todo;
mod warm;
mod ws;
