//! The daemon and its service manager: the signals that stop and reload it,
//! held from the first instant of the process, and the readiness it reports.
//!
//! SIGHUP's default is to end the process, and a reload is what service
//! managers and configuration tools send right after a start. So the process
//! blocks SIGHUP, SIGTERM and SIGINT in its first instruction of its own (a
//! pre-initializer in `main.rs`, before the shared libraries' set-up and
//! `main`); a signal that arrives while the daemon loads its config, opens its
//! database and binds its port waits, pending, and is handled once
//! [`Signals::listen`] has registered the handlers and let them through: a
//! reload after start-up, never death. Commands that are not daemons let them
//! through at once.
//!
//! What no program can hold is a signal sent before its first instruction,
//! while the kernel and the dynamic loader map it (a millisecond or so after
//! `exec`, a few for a debug build). Hence the readiness notifications: under
//! systemd (`Type=notify`, `dist/tidings.service`) a reload asked for during
//! start-up waits until the daemon says it is ready.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signals the daemon answers.
const HELD: [libc::c_int; 3] = [libc::SIGHUP, libc::SIGTERM, libc::SIGINT];

/// Blocks the held signals on this thread and the threads it starts: call it
/// before any other thread exists.
pub fn hold_signals() {
    mask(libc::SIG_BLOCK);
}

/// Lets the held signals through again, to their handlers or their default
/// actions; one that arrived while they were held is delivered now.
pub fn release_signals() {
    mask(libc::SIG_UNBLOCK);
}

fn mask(how: libc::c_int) {
    // SAFETY: the set is initialized by sigemptyset before it is read, and
    // pthread_sigmask only reads it; both are async-signal-safe libc calls
    // on memory this function owns.
    unsafe {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        for signal in HELD {
            libc::sigaddset(set.as_mut_ptr(), signal);
        }
        libc::pthread_sigmask(how, set.as_ptr(), std::ptr::null_mut());
    }
}

/// The daemon's listeners for the held signals.
pub struct Signals {
    pub terminate: Signal,
    pub interrupt: Signal,
    pub hangup: Signal,
}

impl Signals {
    /// Registers the handlers, then lets the held signals through: one that
    /// came during start-up is now waiting in its listener.
    pub fn listen() -> std::io::Result<Signals> {
        let signals = Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        };
        release_signals();
        Ok(signals)
    }
}

/// What the daemon tells its service manager.
#[derive(Clone, Copy, Debug)]
pub enum Status {
    /// Serving and polling: a start (or a reload) is complete.
    Ready,
    /// Re-reading the config; `Ready` follows.
    Reloading,
    /// Finishing the polls in flight before it exits.
    Stopping,
}

/// Tells the service manager (systemd's `NOTIFY_SOCKET`, when it set one).
/// A manager that cannot be told is logged, never fatal: the daemon works
/// the same without one.
pub fn notify(status: Status) {
    use sd_notify::NotifyState;
    let result = match status {
        Status::Ready => sd_notify::notify(&[NotifyState::Ready]),
        Status::Reloading => NotifyState::monotonic_usec_now()
            .and_then(|now| sd_notify::notify(&[NotifyState::Reloading, now])),
        Status::Stopping => sd_notify::notify(&[NotifyState::Stopping]),
    };
    if let Err(error) = result {
        tracing::warn!("cannot tell the service manager {status:?}: {error}");
    }
}

/// Raises the soft limit on open files to the hard one, as Go's runtime
/// does for every server: each reader of the feeds and each fetch holds a
/// descriptor, and the usual soft limit (1,024, systemd's too) is less than
/// the 2,000 stalled clients the server is promised to outlast.
pub fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write only `limit`, which
    // this function owns.
    let raised = unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && {
            let soft = limit.rlim_cur;
            limit.rlim_cur = limit.rlim_max;
            soft == limit.rlim_max || libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
        }
    };
    if !raised {
        tracing::warn!(
            "cannot raise the limit on open files: {}",
            std::io::Error::last_os_error()
        );
    }
}
