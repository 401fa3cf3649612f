//! Group commit: writers that take every job waiting and write them in one transaction (one sync
//! to disk for the group), answering each job once the group is committed — the verifier's results
//! and the EESSI inbox.

/// The next group of jobs for a group-committing writer: the first one to arrive and every other
/// one already waiting, at most `max` (`None` once every sender is gone).
pub async fn next_group<T>(rx: &mut tokio::sync::mpsc::Receiver<T>, max: usize) -> Option<Vec<T>> {
    let first = rx.recv().await?;
    let mut group = vec![first];
    while group.len() < max {
        match rx.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    Some(group)
}
