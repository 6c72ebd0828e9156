//! Passkeys (WebAuthn): placeholder until the ceremony lands in the next commit.

use parley_domain::UserId;
use parley_store::{ChallengeRecord, UserRecord};

use crate::Parley;
use crate::error::CoreError;

impl Parley {
    pub(crate) async fn start_passkey_second_factor(&self, _user: UserId) -> Result<Option<(String, serde_json::Value)>, CoreError> {
        Ok(None)
    }

    pub(crate) async fn finish_passkey_second_factor(
        &self,
        _user: &UserRecord,
        _challenge: &ChallengeRecord,
        _credential: &serde_json::Value,
    ) -> Result<bool, CoreError> {
        Ok(false)
    }
}
