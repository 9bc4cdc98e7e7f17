//! Scheduling for the speech workers: speech-to-text and text-to-speech are bulk CPU work
//! that must never starve the 20 ms audio path (songbird's mixer and Opus encoder, the
//! receive worker). Their threads run at a lower priority (a higher nice value); threads
//! they start (whisper.cpp's compute threads) inherit it.

/// The nice value speech workers run at: below normal threads (nice 0), but not idle
/// priority, so transcription still progresses on a busy host.
pub const WORKER_NICE: i32 = 8;

/// Lowers the calling thread's priority to [`WORKER_NICE`] (Linux: per thread). Returns
/// the nice value now in effect, or `None` where this is not supported or not permitted
/// (never fails the caller: a worker at normal priority still works).
pub fn lower_current_thread() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain syscalls on the calling thread's own id; no memory is shared.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            let current = thread_nice(tid)?;
            if current >= WORKER_NICE {
                return Some(current);
            }
            if libc::setpriority(libc::PRIO_PROCESS, tid, WORKER_NICE) != 0 {
                return None;
            }
            thread_nice(tid)
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The calling thread's nice value (Linux).
pub fn current_thread_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as above.
        unsafe { thread_nice(libc::syscall(libc::SYS_gettid) as libc::id_t) }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(target_os = "linux")]
unsafe fn thread_nice(tid: libc::id_t) -> Option<i32> {
    // getpriority can legitimately return -1: errno tells.
    // SAFETY: errno is thread-local; getpriority only reads scheduler state.
    unsafe {
        *libc::__errno_location() = 0;
        let n = libc::getpriority(libc::PRIO_PROCESS, tid);
        (n != -1 || *libc::__errno_location() == 0).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_worker_thread_runs_below_normal_priority_and_its_children_inherit_it() {
        let main_before = current_thread_nice().unwrap();
        let (worker, child) = std::thread::spawn(|| {
            let now = lower_current_thread();
            let child = std::thread::spawn(current_thread_nice).join().unwrap();
            (now, child)
        })
        .join()
        .unwrap();
        assert_eq!(worker, Some(WORKER_NICE.max(main_before)));
        assert_eq!(
            child, worker,
            "threads started by a worker inherit its priority"
        );
        assert_eq!(
            current_thread_nice().unwrap(),
            main_before,
            "only that thread"
        );
    }
}
