//! One live WebSocket connection: it subscribes to its user's bus channel, turns each
//! "new message at seq N" signal into the messages themselves (read through the core as this
//! user, so authorization holds on every delivery), answers pings, and closes cleanly:
//! 1001 at shutdown, 4401 when the session ends, 1013 for a slow consumer, 1009 for an
//! oversized frame, 1008 for a protocol violation.
//!
//! The loop is written over any `Sink` + `Stream` of WebSocket messages, so tests can drive it
//! through channels; the server passes axum's socket.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt as _, Stream, StreamExt as _};
use parley_api::stream::{ClientFrame, ServerFrame};
use parley_core::{Parley, Participant, Session};
use parley_domain::page::{MessageWindow, PageLimit};
use parley_domain::{ConversationId, Seq, Timestamp};
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::bus::UserEvent;
use crate::wire;

/// Close codes.
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY_VIOLATION: u16 = 1008;
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    pub const SESSION_ENDED: u16 = 4401;
}

/// A write that takes longer than this means the peer stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection needs from the server.
pub struct LiveContext {
    /// The use cases.
    pub core: Arc<Parley>,
    /// The user's event channel.
    pub events: broadcast::Receiver<UserEvent>,
    /// When the connection opened: messages sent from then on are delivered on it.
    pub connected_at: Timestamp,
    /// How often to ping.
    pub ping_interval: Duration,
    /// Server shutdown.
    pub shutdown: CancellationToken,
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client closed or went away.
    ByClient,
    /// We closed with this code.
    ByServer(u16),
}

/// Runs the connection until either side ends it.
pub async fn run<S>(mut socket: S, mut context: LiveContext, session: Session) -> Ended
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let ready = ServerFrame::Ready { user_id: session.user_id().as_uuid(), session_expires_at: wire::time(session.expires_at()) };
    if send_frame(&mut socket, &ready).await.is_err() {
        return Ended::ByClient;
    }
    let mut delivery = Delivery {
        core: Arc::clone(&context.core),
        session,
        connected_at: context.connected_at,
        participants: HashMap::new(),
        delivered: HashMap::new(),
    };
    let mut ping = tokio::time::interval_at(Instant::now() + context.ping_interval, context.ping_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let outcome = loop {
        tokio::select! {
            () = context.shutdown.cancelled() => break Ended::ByServer(close::GOING_AWAY),
            event = context.events.recv() => match event {
                Ok(UserEvent::MessageAppended { conversation, seq }) => {
                    if delivery.deliver(&mut socket, conversation, seq).await.is_err() {
                        break Ended::ByServer(close::TRY_AGAIN_LATER);
                    }
                }
                Ok(UserEvent::MessageChanged { conversation, seq }) => {
                    if delivery.redeliver(&mut socket, conversation, seq).await.is_err() {
                        break Ended::ByServer(close::TRY_AGAIN_LATER);
                    }
                }
                Ok(UserEvent::SessionEnded { session }) if session == delivery.session.session_id() => break Ended::ByServer(close::SESSION_ENDED),
                Ok(UserEvent::SessionEnded { .. }) => {}
                // Fell behind the bounded queue: a slow consumer. It reconnects and catches up.
                Err(broadcast::error::RecvError::Lagged(_)) => break Ended::ByServer(close::TRY_AGAIN_LATER),
                Err(broadcast::error::RecvError::Closed) => break Ended::ByServer(close::GOING_AWAY),
            },
            incoming = socket.next() => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        let reply = match serde_json::from_str::<ClientFrame>(text.as_str()) {
                            Ok(ClientFrame::Ping) => ServerFrame::Pong,
                            Err(_) => ServerFrame::Error { code: "malformed_request".to_owned() },
                        };
                        if send_frame(&mut socket, &reply).await.is_err() {
                            break Ended::ByClient;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => break Ended::ByServer(close::POLICY_VIOLATION),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break Ended::ByClient,
                    Some(Err(error)) => break close_code_for(error).map_or(Ended::ByClient, Ended::ByServer),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > context.ping_interval * 2 {
                    break Ended::ByClient;
                }
                if context.core.revalidate(&delivery.session).await.is_err() {
                    break Ended::ByServer(close::SESSION_ENDED);
                }
                if send_with_timeout(&mut socket, Message::Ping(axum::body::Bytes::new())).await.is_err() {
                    break Ended::ByClient;
                }
            }
        }
    };
    if let Ended::ByServer(code) = outcome {
        let frame = CloseFrame { code, reason: reason_for(code).into() };
        // Best effort: the peer may already be gone.
        send_with_timeout(&mut socket, Message::Close(Some(frame))).await.ok();
    }
    outcome
}

/// Per-connection delivery state: participants already authorised, and how far each
/// conversation has been delivered.
struct Delivery {
    core: Arc<Parley>,
    session: Session,
    connected_at: Timestamp,
    participants: HashMap<ConversationId, Participant>,
    delivered: HashMap<ConversationId, Seq>,
}

impl Delivery {
    /// Delivers every message of `conversation` up to at least `seq` that this connection has
    /// not delivered yet, in order. Signals may arrive out of order or coalesced; the database
    /// decides what is new.
    /// The user as a party to `conversation`, authorised once per connection; none if they are
    /// not (or no longer) a party: nothing to deliver, and nothing to say about it.
    async fn participant(&mut self, conversation: ConversationId) -> Option<Participant> {
        match self.participants.entry(conversation) {
            Entry::Occupied(entry) => Some(entry.get().clone()),
            Entry::Vacant(entry) => {
                self.core.participant(&self.session, conversation).await.ok().map(|participant| entry.insert(participant).clone())
            }
        }
    }

    async fn deliver<S: Sink<Message> + Unpin>(&mut self, socket: &mut S, conversation: ConversationId, seq: Seq) -> Result<(), ()> {
        if self.delivered.get(&conversation).is_some_and(|&delivered| seq <= delivered) {
            return Ok(());
        }
        let Some(participant) = &self.participant(conversation).await else { return Ok(()) };
        let log = |error: parley_core::CoreError| tracing::warn!(%error, conversation_id = %conversation, "stream delivery failed");
        let mut from = match self.delivered.get(&conversation) {
            Some(&delivered) => delivered,
            // The signalled message is always news: its timestamp is taken before it commits,
            // so it may predate the connection and still be unseen.
            None => {
                boundary(&self.core, participant, self.connected_at).await.map_err(log)?.min(Seq::new(seq.value() - 1).unwrap_or(Seq::ZERO))
            }
        };
        loop {
            let page = self.core.list_messages(participant, MessageWindow::After(from), PageLimit::DEFAULT).await.map_err(log)?;
            for view in &page.items {
                send_frame(socket, &ServerFrame::Message { message: wire::message(view) }).await?;
                from = view.message.seq;
            }
            if !page.has_more {
                break;
            }
        }
        self.delivered.insert(conversation, from);
        Ok(())
    }
}

impl Delivery {
    /// Sends the message at `seq` again as it is now (edited, or deleted for everyone), if this
    /// user may see it.
    async fn redeliver<S: Sink<Message> + Unpin>(&mut self, socket: &mut S, conversation: ConversationId, seq: Seq) -> Result<(), ()> {
        let Some(participant) = &self.participant(conversation).await else { return Ok(()) };
        let before = Seq::new(seq.value() - 1).unwrap_or(Seq::ZERO);
        let page = match self
            .core
            .list_messages(participant, MessageWindow::After(before), PageLimit::parse(Some(1)).unwrap_or(PageLimit::DEFAULT))
            .await
        {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, conversation_id = %conversation, "stream redelivery failed");
                return Err(());
            }
        };
        // Hidden from this user (deleted for them, or a blocked sender's): nothing to say.
        match page.items.first().filter(|view| view.message.seq == seq) {
            Some(view) => send_frame(socket, &ServerFrame::MessageUpdated { message: wire::message(view) }).await,
            None => Ok(()),
        }
    }
}

/// The newest message of the conversation sent before the connection opened: everything after
/// it is news to this connection. (Older history is for the client to fetch over REST.)
async fn boundary(core: &Parley, participant: &Participant, connected_at: Timestamp) -> Result<Seq, parley_core::CoreError> {
    let mut window = MessageWindow::Latest;
    loop {
        let page = core.list_messages(participant, window, PageLimit::DEFAULT).await?;
        if let Some(view) = page.items.iter().rev().find(|view| view.message.created_at < connected_at) {
            return Ok(view.message.seq);
        }
        match page.items.first() {
            Some(oldest) if page.has_more => window = MessageWindow::Before(oldest.message.seq),
            _ => return Ok(Seq::ZERO),
        }
    }
}

async fn send_frame<S: Sink<Message> + Unpin>(socket: &mut S, frame: &ServerFrame) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    send_with_timeout(socket, Message::Text(text.into())).await
}

async fn send_with_timeout<S: Sink<Message> + Unpin>(socket: &mut S, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// The close code for a read error, if the connection can still carry one.
fn close_code_for(error: axum::Error) -> Option<u16> {
    match error.into_inner().downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Some(close::MESSAGE_TOO_BIG),
        Some(tungstenite::Error::Protocol(_) | tungstenite::Error::Utf8(_)) => Some(close::POLICY_VIOLATION),
        _ => None,
    }
}

fn reason_for(code: u16) -> &'static str {
    match code {
        close::GOING_AWAY => "server shutting down",
        close::SESSION_ENDED => "session ended",
        close::TRY_AGAIN_LATER => "fell behind; reconnect and catch up",
        close::MESSAGE_TOO_BIG => "message too big",
        _ => "policy violation",
    }
}
