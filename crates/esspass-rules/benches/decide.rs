//! Decisions per second on one core: `cargo bench -p esspass-rules -j1`.
//!
//! The mix is every application in `examples/rules/` (posting, self-employed posting, two-state
//! worker, several employers, mariner, flight crew, civil servant, frontier worker, a 30-month
//! posting, an exception request, a posting outside the EU, a UK detached worker), parsed once;
//! each iteration decides all of them. Parsing is measured separately, and the bulk path of
//! `esspass rules decide --jsonl` (parse + decide + one line of JSON out) beside it.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn examples() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|x| x == "json"));
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
}

fn bench(c: &mut Criterion) {
    let texts = examples();
    let apps: Vec<esspass_rules::Application> = texts.iter().filter_map(|t| esspass_rules::parse_application(t).ok()).collect();
    assert!(!apps.is_empty(), "no example applications found");
    let n = apps.len() as u64;

    let mut g = c.benchmark_group("rules");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(30);
    g.throughput(Throughput::Elements(n));
    g.bench_function("decide (examples mix)", |b| {
        b.iter(|| {
            for app in &apps {
                black_box(esspass_rules::decide(black_box(app)));
            }
        })
    });
    g.bench_function("parse + decide (examples mix)", |b| {
        b.iter(|| {
            for t in &texts {
                if let Ok(app) = esspass_rules::parse_application(black_box(t)) {
                    black_box(esspass_rules::decide(&app));
                }
            }
        })
    });
    g.finish();

    // Bulk: the JSON Lines path of `esspass rules decide --jsonl` — parse, decide and serialise the
    // decision to one line — over the same mix as compact lines (target: 100 000 lines/s on one core).
    let lines: Vec<String> = texts.iter().filter_map(|t| serde_json::from_str::<serde_json::Value>(t).ok()).map(|v| v.to_string()).collect();
    let mut g = c.benchmark_group("rules-jsonl");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(30);
    g.throughput(Throughput::Elements(lines.len() as u64));
    let mut out: Vec<u8> = Vec::with_capacity(1 << 16);
    g.bench_function("parse + decide + write one line each (examples mix)", |b| {
        b.iter(|| {
            out.clear();
            for l in &lines {
                black_box(esspass_rules::jsonl::decide_line(black_box(l), &mut out));
            }
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
