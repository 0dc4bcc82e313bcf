//! Reads one PostgreSQL table into Arrow the way a rule's in-process scan does (binary COPY
//! decoded into Arrow builders, batch by batch) and prints rows, batches and seconds.
//! Used by bench/pg_read.sh; also a small example of the library's PostgreSQL source.
//!
//!     cargo run --release --example pg_read -- postgres://user:pw@host/db table

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
        postgres::open("bench", &url, std::time::Duration::from_secs(3600), 4).await?;
    let provider = schemas
        .iter()
        .flat_map(|(_, tables)| tables)
        .find(|(name, _)| *name == table)
        .map(|(_, provider)| provider.clone())
        .ok_or_else(|| format!("no table `{table}`"))?;
    let ctx = datafusion::prelude::SessionContext::new();
    let started = Instant::now();
    let plan = provider
        .scan(&ctx.state(), None, &[], None)
        .await
        .map_err(|e| e.to_string())?;
    let mut stream = plan.execute(0, ctx.task_ctx()).map_err(|e| e.to_string())?;
    let (mut rows, mut batches) = (0usize, 0usize);
    while let Some(batch) = stream.next().await {
        rows += batch.map_err(|e| e.to_string())?.num_rows();
        batches += 1;
    }
    println!(
        "rows={rows} batches={batches} seconds={:.3}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
