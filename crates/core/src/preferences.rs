//! Privacy preferences and blocks. A block is silent: while it lasts, the blocked user's new
//! messages and new conversations are not shown to the blocker, so the blocked user learns
//! nothing. Lifting it shows them.
//! First contact follows the other party's contact policy.

use std::collections::HashMap;

use parley_domain::{Handle, Preferences, Timestamp, UserId};

use crate::Parley;
use crate::auth::Session;
use crate::error::CoreError;

/// Someone the user blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedUser {
    /// Their handle.
    pub handle: Handle,
    /// Since when.
    pub since: Timestamp,
}

impl Parley {
    /// The caller's preferences (the defaults until they change one).
    pub async fn preferences(&self, session: &Session) -> Result<Preferences, CoreError> {
        Ok(self.store.preferences_of(session.user_id()).await?.unwrap_or_default())
    }

    /// Replaces the caller's preferences.
    pub async fn set_preferences(&self, session: &Session, preferences: Preferences) -> Result<(), CoreError> {
        Ok(self.store.put_preferences(session.user_id(), &preferences, self.clock.now()).await?)
    }

    /// Blocks a user by handle; blocking twice is harmless.
    pub async fn block_user(&self, session: &Session, handle: &str) -> Result<(), CoreError> {
        let other = self.user_named(handle).await?;
        if other == session.user_id() {
            return Err(CoreError::CannotBlockSelf);
        }
        self.store.block(session.user_id(), other, self.clock.now()).await?;
        Ok(())
    }

    /// Lifts a block; lifting one that does not exist is harmless.
    pub async fn unblock_user(&self, session: &Session, handle: &str) -> Result<(), CoreError> {
        let other = self.user_named(handle).await?;
        self.store.unblock(session.user_id(), other).await?;
        Ok(())
    }

    /// Whom the caller blocked, most recent first.
    pub async fn blocked_users(&self, session: &Session) -> Result<Vec<BlockedUser>, CoreError> {
        let blocks = self.store.blocks_of(session.user_id()).await?;
        Ok(blocks.into_iter().map(|(_, handle, since)| BlockedUser { handle, since }).collect())
    }

    /// Since when the viewer blocked each user they blocked.
    pub(crate) async fn blocked_since(&self, viewer: UserId) -> Result<HashMap<UserId, Timestamp>, CoreError> {
        Ok(self.store.blocks_of(viewer).await?.into_iter().map(|(id, _, since)| (id, since)).collect())
    }

    async fn user_named(&self, handle: &str) -> Result<UserId, CoreError> {
        let handle = Handle::parse(handle).map_err(|_| CoreError::UserNotFound)?;
        Ok(self.store.user_by_handle(&handle.key()).await?.ok_or(CoreError::UserNotFound)?.id)
    }
}
