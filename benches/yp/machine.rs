//! What else used the machine's cores during the run: the bench shares them with the server,
//! PostgreSQL and whatever else runs there, and a figure means little without knowing that.

use std::collections::HashMap;

use diesel::{Connection, RunQueryDsl, pg::PgConnection, sql_types::Integer};

use crate::common::cpu_seconds;

/// Busy CPU seconds of the whole machine so far (every core; /proc/stat is in 1/100 s).
pub fn busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: f64 = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 3 | 4) && *i < 8)
        .map(|(_, v)| v)
        .sum();
    busy / 100.0
}

/// CPU seconds so far of each server process of a PostgreSQL connection to the run's database
/// (the pool's), by pid.
pub fn backends(url: &str) -> HashMap<u32, f64> {
    let mut conn = PgConnection::establish(url).unwrap();
    let pids: Vec<Pid> = diesel::sql_query(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load(&mut conn)
    .unwrap();
    pids.iter()
        .filter_map(|p| u32::try_from(p.pid).ok())
        .map(|pid| (pid, cpu_seconds(pid)))
        .collect()
}

/// The CPU the backends used between two snapshots (one that opened meanwhile counts whole).
pub fn backends_used(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}
