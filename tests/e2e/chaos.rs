//! Chaos: things break on purpose while the suite works, and nothing
//! acknowledged is lost, nothing is done twice, and calls end in a status a
//! client can act on instead of hanging. Each scenario reports its figures
//! (see `docs/RELIABILITY.md`).

mod network;
mod postgres;
mod redis;
mod restart;
mod watch;

use network::network_faults_between_gateway_and_service_end_calls_in_time;
use postgres::postgres_backends_terminated_under_write_load;
use redis::redis_faults_during_a_burst_lose_and_duplicate_nothing;
use restart::a_killed_process_does_each_due_action_once_after_restart;

concord_kit::backend_tests!(
    redis_faults_during_a_burst_lose_and_duplicate_nothing,
    postgres_backends_terminated_under_write_load,
    network_faults_between_gateway_and_service_end_calls_in_time,
    a_killed_process_does_each_due_action_once_after_restart,
);
