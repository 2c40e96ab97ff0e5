//! Polls written in groups: a poll that finishes is queued, and whoever
//! writes (SQLite's writer thread, PostgreSQL's writer tasks) takes every
//! poll waiting, up to a bound, into one transaction. The work of a write
//! that does not grow with its entries (a transaction, the look-ups of its
//! keys, the stories' candidates) is then paid once a group, not once a
//! poll, and the polls of a group that carry the same story find it once.

use tokio::sync::{mpsc, oneshot};

use super::types::{Counts, PollRecord, StoreError};
use crate::article::NormalizedFeed;

/// A finished poll, as a writer stores it.
pub(super) struct FinishedPoll {
    pub(super) record: PollRecord,
    pub(super) feed: Option<NormalizedFeed>,
}

/// A poll waiting for a writer, and where its result goes.
pub(super) struct QueuedPoll {
    poll: FinishedPoll,
    done: oneshot::Sender<Result<Counts, StoreError>>,
}

impl QueuedPoll {
    /// Whether the poll read a feed (else it was not modified, or failed):
    /// such a poll writes only its source's state.
    pub(super) fn read_a_feed(&self) -> bool {
        self.poll.feed.is_some()
    }
}

/// Where finished polls wait for a writer.
#[derive(Clone)]
pub(super) struct Queue(mpsc::Sender<QueuedPoll>);

impl Queue {
    /// A queue that holds `capacity` polls (a poll that finds it full
    /// waits), and its writers' end.
    pub(super) fn new(capacity: usize) -> (Queue, mpsc::Receiver<QueuedPoll>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Queue(sender), receiver)
    }

    /// Queues the poll and waits until its group is written.
    pub(super) async fn write(
        &self,
        record: PollRecord,
        feed: Option<NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        let stopped = || StoreError::Write("the database writer stopped".into());
        let (done, reply) = oneshot::channel();
        let queued = QueuedPoll {
            poll: FinishedPoll { record, feed },
            done,
        };
        self.0.send(queued).await.map_err(|_| stopped())?;
        reply.await.map_err(|_| stopped())?
    }
}

/// A group of polls taken from the queue, and where each one's result goes.
pub(super) struct Group {
    pub(super) polls: Vec<FinishedPoll>,
    replies: Vec<oneshot::Sender<Result<Counts, StoreError>>>,
}

impl Group {
    /// `first`, and the polls that wait behind it, `most` in all.
    pub(super) fn after(
        first: QueuedPoll,
        queue: &mut mpsc::Receiver<QueuedPoll>,
        most: usize,
    ) -> Group {
        let mut group = Group {
            polls: Vec::with_capacity(most.min(queue.len() + 1)),
            replies: Vec::with_capacity(most.min(queue.len() + 1)),
        };
        let mut next = Some(first);
        while let Some(queued) = next {
            group.polls.push(queued.poll);
            group.replies.push(queued.done);
            next = (group.polls.len() < most)
                .then(|| queue.try_recv().ok())
                .flatten();
        }
        group
    }

    /// Tells each poll's waiter its result (`results` in the polls' order),
    /// and gives the polls back, for the caller to free where it likes.
    pub(super) fn answer(self, results: Vec<Result<Counts, StoreError>>) -> Vec<FinishedPoll> {
        for (reply, result) in self.replies.into_iter().zip(results) {
            // A waiter that gave up (a poll cancelled at shutdown) needs no answer.
            let _ = reply.send(result);
        }
        self.polls
    }
}
