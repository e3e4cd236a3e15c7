//! The emergency service through its gRPC API, with a real directory, on
//! SQLite with the in-process bus and on PostgreSQL with Redis.

mod alerts;
mod drill;
mod harness;
mod incidents;
mod plans;
mod redis_outage;
mod replicas;
