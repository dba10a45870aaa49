//! Owns native stdout/stderr capture: what a handler prints with `println!`/`eprintln!` (or
//! any write to fds 1 and 2) during its invocation becomes log entries, as in the official
//! runtime. This is the only module that touches file descriptors, hence the `unsafe` allowance.
//!
//! File descriptors 1 and 2 are process-wide, so capture is inherently global. The official
//! runtime (`openruntimes-types-for-rust` 1.0.2) has two defects here that this design avoids:
//!
//! 1. It releases its global slot *before* restoring fds 1/2, so a request starting in that
//!    window saves the pipe as "the original stdout" and the first request then waits forever
//!    for EOF. Here the slot is released only after fds 1/2 are restored and the saved copies
//!    closed ([`Session::finish`]), so a new session always saves the real terminal/file.
//! 2. It reads the pipes only after the handler returns, so more than 64 KiB of output (the
//!    pipe buffer) blocks the handler forever. Here a drainer thread reads both pipes with
//!    `poll` for the whole session, so a writer never waits on us. What it keeps is capped
//!    ([`MAX_CAPTURED_BYTES`] per stream); the rest is read and dropped.
//!
//! A session starts only when no other handler is running (see [`Running`]), because output
//! of two concurrent handlers cannot be told apart at the fd level. Handlers that start while
//! a session is open run uncaptured as in the official runtime; anything they print during
//! the session is attributed to the session's request. Finishing never waits unboundedly: if a
//! child process inherited the pipe and keeps it open, we stop waiting for EOF after
//! [`DRAIN_GRACE`] and keep what was read; the drainer (a thread of
//! the capture pool) is free again when the child exits.
#![allow(unsafe_code)]

use crate::lock;
use crate::pool::Pool;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

/// Per-stream cap on what is kept from one invocation (log entries are cut at 8000 chars anyway).
pub const MAX_CAPTURED_BYTES: usize = 4 * 1024 * 1024;
/// How long `finish` waits for the pipes to reach EOF after fds 1/2 are restored.
pub const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Number of handlers currently running in this process (across all servers).
static RUNNING: AtomicUsize = AtomicUsize::new(0);
/// Whether fds 1/2 currently point at a capture pipe.
static CAPTURING: AtomicBool = AtomicBool::new(false);

/// Marks one handler as running for as long as it lives.
pub struct Running {
    alone: bool,
}

impl Running {
    pub fn enter() -> Running {
        let before = RUNNING.fetch_add(1, Ordering::SeqCst);
        Running { alone: before == 0 }
    }

    /// Starts a capture session if this handler is the only one running and no session is
    /// open. `None` means "run uncaptured", never an error the caller must handle.
    pub fn try_capture(&self) -> Option<Session> {
        if !self.alone
            || CAPTURING
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return None;
        }
        match Session::start() {
            Some(session) => Some(session),
            None => {
                CAPTURING.store(false, Ordering::SeqCst);
                None
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a session read from the two pipes.
#[derive(Default, Debug)]
pub struct Captured {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// An open capture: fds 1/2 point at pipes that a drainer thread empties.
pub struct Session {
    saved_stdout: libc::c_int,
    saved_stderr: libc::c_int,
    buffers: Arc<Mutex<Captured>>,
    done: mpsc::Receiver<()>,
}

impl Session {
    fn start() -> Option<Session> {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let out = Pipe::new()?;
        let err = Pipe::new()?;
        // SAFETY: dup on fds 1/2 only creates new descriptors; failures are checked.
        let (saved_stdout, saved_stderr) = unsafe {
            (
                libc::dup(libc::STDOUT_FILENO),
                libc::dup(libc::STDERR_FILENO),
            )
        };
        if saved_stdout < 0 || saved_stderr < 0 {
            close_all(&[saved_stdout, saved_stderr]);
            return None;
        }
        // SAFETY: dup2 atomically repoints fds 1/2 at our pipes' write ends, which are open.
        let redirected = unsafe {
            libc::dup2(out.write, libc::STDOUT_FILENO) >= 0
                && libc::dup2(err.write, libc::STDERR_FILENO) >= 0
        };
        // fds 1/2 now hold the write ends; our own copies must go so EOF can arrive later.
        close_all(&[out.write, err.write]);
        if !redirected {
            restore(saved_stdout, saved_stderr);
            close_all(&[out.read, err.read]);
            return None;
        }

        let buffers = Arc::new(Mutex::new(Captured::default()));
        let (done_tx, done) = mpsc::sync_channel(1);
        let drainer_buffers = Arc::clone(&buffers);
        let (out_read, err_read) = (out.read, err.read);
        // A drainer from a pool rather than a new thread per session: starting a thread
        // (clone, stack mmap) cost more than the rest of a short handler's capture.
        static DRAINERS: OnceLock<Pool> = OnceLock::new();
        let spawned = DRAINERS
            .get_or_init(|| Pool::new("opr-capture"))
            .execute(Box::new(move || {
                drain(out_read, err_read, &drainer_buffers);
                let _ = done_tx.send(());
            }));
        if spawned.is_err() {
            restore(saved_stdout, saved_stderr);
            close_all(&[out_read, err_read]);
            return None;
        }
        Some(Session {
            saved_stdout,
            saved_stderr,
            buffers,
            done,
        })
    }

    /// Restores fds 1/2, collects the output, then frees the slot for the next session.
    pub fn finish(self) -> Captured {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        restore(self.saved_stdout, self.saved_stderr);
        // Restoring closed the last write ends we know of, so the drainer sees EOF and stops.
        let _ = self.done.recv_timeout(DRAIN_GRACE);
        let captured = std::mem::take(&mut *lock(&self.buffers));
        CAPTURING.store(false, Ordering::SeqCst);
        captured
    }
}

struct Pipe {
    read: libc::c_int,
    write: libc::c_int,
}

impl Pipe {
    fn new() -> Option<Pipe> {
        let mut fds: [libc::c_int; 2] = [-1, -1];
        // SAFETY: `fds` is a valid two-element array for pipe2 to fill. O_CLOEXEC keeps the
        // pipe out of child processes the handler may spawn (they inherit fds 1/2, not these).
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        Some(Pipe {
            read: fds[0],
            write: fds[1],
        })
    }
}

/// Points fds 1/2 back at the saved descriptors and closes the saved copies.
fn restore(saved_stdout: libc::c_int, saved_stderr: libc::c_int) {
    // SAFETY: the saved fds were obtained from dup and are still open; dup2 onto 1/2 is atomic.
    unsafe {
        libc::dup2(saved_stdout, libc::STDOUT_FILENO);
        libc::dup2(saved_stderr, libc::STDERR_FILENO);
    }
    close_all(&[saved_stdout, saved_stderr]);
}

fn close_all(fds: &[libc::c_int]) {
    for &fd in fds {
        if fd >= 0 {
            // SAFETY: each fd passed here is owned by this module and closed exactly once.
            unsafe { libc::close(fd) };
        }
    }
}

/// Reads both pipes until both reach EOF, keeping at most `MAX_CAPTURED_BYTES` of each.
fn drain(out_read: libc::c_int, err_read: libc::c_int, buffers: &Mutex<Captured>) {
    let mut fds = [
        libc::pollfd {
            fd: out_read,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: err_read,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let mut open = 2;
    let mut chunk = [0u8; 16 * 1024];
    while open > 0 {
        // SAFETY: `fds` is a valid array of two pollfd structs; -1 means wait indefinitely,
        // which ends because restoring fds 1/2 closes the write ends (EOF → POLLHUP).
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        for (index, pfd) in fds.iter_mut().enumerate() {
            if pfd.fd < 0 || pfd.revents == 0 {
                continue;
            }
            // SAFETY: `chunk` is a writable buffer of the given length; the fd is open.
            let n = unsafe { libc::read(pfd.fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if n > 0 {
                if let Ok(mut b) = buffers.lock() {
                    let target = if index == 0 {
                        &mut b.stdout
                    } else {
                        &mut b.stderr
                    };
                    let room = MAX_CAPTURED_BYTES.saturating_sub(target.len());
                    target.extend_from_slice(&chunk[..(n as usize).min(room)]);
                }
            } else if n == 0
                || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                close_all(&[pfd.fd]);
                pfd.fd = -1;
                open -= 1;
            }
            pfd.revents = 0;
        }
    }
    for pfd in fds {
        close_all(&[pfd.fd]);
    }
}
