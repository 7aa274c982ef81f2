//! Work over many rows, split in two halves on two threads.

/// Work over at least this many rows is split over two threads.
const PARALLEL_ROWS: usize = 1 << 17;

/// Runs `work` over `0..len`: in two halves on two threads when `len` is large (the machine has
/// at least two cores), else whole. The parts come in order.
pub(crate) fn in_halves<T: Send>(
    len: usize,
    work: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    if len < PARALLEL_ROWS {
        return vec![work(0..len)];
    }
    let middle = len / 2;
    std::thread::scope(|scope| {
        let second = scope.spawn(|| work(middle..len));
        let first = work(0..middle);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        vec![first, second]
    })
}
