//! Reads one PostgreSQL table into Arrow the way a rule's in-process scan does (binary COPY
//! decoded into Arrow builders, batch by batch) and prints rows, batches and seconds.
//! Used by bench/pg_read.sh; also a small example of the library's PostgreSQL source.
//!
//!     cargo run --release --example pg_read -- postgres://user:pw@host/db table [out.parquet]
//!
//! With a third argument the rows are also written to that Parquet file (bench/diff.sh
//! uses it to diff a PostgreSQL table against a file of the same data).

use std::time::Instant;

use crosscheck::source::postgres;
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(table)) = (args.next(), args.next()) else {
        return Err("usage: pg_read POSTGRES_URL TABLE".into());
    };
    let (_session, schemas) =
        postgres::open("bench", &url, std::time::Duration::from_secs(3600), 4)
            .await
            .map_err(|e| e.to_string())?;
    let mut provider = None;
    for (_, schema) in &schemas {
        if let Some(found) = schema.table(&table).await.map_err(|e| e.to_string())? {
            provider = Some(found);
            break;
        }
    }
    let provider = provider.ok_or_else(|| format!("no table `{table}`"))?;
    let ctx = datafusion::prelude::SessionContext::new();
    let started = Instant::now();
    let plan = provider
        .scan(&ctx.state(), None, &[], None)
        .await
        .map_err(|e| e.to_string())?;
    let mut writer = match args.next() {
        Some(path) => {
            let file = std::fs::File::create(&path).map_err(|e| format!("{path}: {e}"))?;
            Some(
                datafusion::parquet::arrow::ArrowWriter::try_new(file, plan.schema(), None)
                    .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    let (mut rows, mut batches) = (0usize, 0usize);
    for partition in 0..plan.properties().partitioning.partition_count() {
        let mut stream = plan
            .execute(partition, ctx.task_ctx())
            .map_err(|e| e.to_string())?;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| e.to_string())?;
            rows += batch.num_rows();
            batches += 1;
            if let Some(w) = writer.as_mut() {
                w.write(&batch).map_err(|e| e.to_string())?;
            }
        }
    }
    if let Some(w) = writer {
        w.close().map_err(|e| e.to_string())?;
    }
    println!(
        "rows={rows} batches={batches} seconds={:.3}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
