//! End-to-end tests: the whole suite, started as `concord serve` starts it,
//! called through the gateway only. Each test body runs on SQLite with the
//! in-process bus, and on PostgreSQL with Redis when
//! `CONCORD_TEST_DATABASE_URL` and `CONCORD_TEST_REDIS_URL` are set.

mod authz_matrix;
mod chaos;
mod gateway;
mod hardening;
mod observability;
mod secrets;
mod shutdown;
