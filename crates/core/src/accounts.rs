//! Sign-up and the user's own profile.

use parley_domain::{ClientContext, EmailAddress, Handle, KeyScope, NewPassword, Sealed, Secret, SecurityEventKind, Timestamp, UserId};
use parley_store::NewUser;
use uuid::Uuid;

use crate::Parley;
use crate::audit::Actor;
use crate::auth::Session;
use crate::error::CoreError;
use crate::keyring::KeyRing;

/// What a new user typed. Personal and secret: its `Debug` shows the handle only.
pub struct NewAccount {
    /// The wanted handle.
    pub handle: String,
    /// The email address.
    pub email: String,
    /// The password (never stored; hashed).
    pub password: parley_domain::Secret<String>,
    /// The privacy policy version the user was shown and accepted; must be the current one.
    pub accepted_policy_version: u32,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount").field("handle", &self.handle).finish_non_exhaustive()
    }
}

/// A created account, as others may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: UserId,
    /// Its handle.
    pub handle: Handle,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A user's own profile, with their personal fields decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The account.
    pub account: Account,
    /// Their email address (none for an account made by single sign-on).
    pub email: Option<EmailAddress>,
    /// Whether they must accept the current privacy policy (a new version was published, or
    /// a single sign-on account never accepted one): the app's notice to show.
    pub policy_acceptance_required: bool,
}

impl Parley {
    /// Creates an account: validates the fields, hashes the password (off the async threads),
    /// seals the email under a new profile key and indexes it blindly for login.
    /// The device signed up from counts as known, so the first login from it is not "new".
    pub async fn sign_up(&self, request: NewAccount, context: &ClientContext) -> Result<Account, CoreError> {
        let handle = Handle::parse(&request.handle)?;
        let email = EmailAddress::parse(&request.email)?;
        let password = NewPassword::parse(request.password.expose(), &handle, Some(&email))?;
        self.check_policy_is_current(request.accepted_policy_version).await?;
        let password_hash = self.hash_work(move |hasher| hasher.hash(password.expose())).await??;
        let id = UserId::from_uuid(Uuid::now_v7());
        let now = self.clock.now();
        let scope = KeyScope::UserProfile(id);
        let dek = self.keys.dek_for(&scope, now).await?;
        let sealed_email = dek.seal(email.expose().as_bytes(), &KeyRing::email_aad(&id))?;
        let user = NewUser {
            id,
            handle: handle.clone(),
            email: Some((Sealed::from_bytes(sealed_email), self.keys.email_index(&email))),
            password_hash: Some(password_hash),
            created_at: now,
            accepted_policy: Some(request.accepted_policy_version),
        };
        let notice = self.notice(id, user.email.as_ref().map(|(sealed, _)| sealed), SecurityEventKind::AccountCreated, context).await?;
        if let Err(error) = self.store.insert_user(&user, &notice).await {
            // A refused sign-up (handle or email taken) must not leave its key behind. If that
            // fails too, the caller still learns why the sign-up was refused.
            if let Err(cleanup) = self.keys.destroy(&scope).await {
                tracing::warn!(error = %cleanup, "could not destroy the key of a refused sign-up");
            }
            return Err(error.into());
        }
        self.store.remember_device(id, &self.keys.device_fingerprint(id, context), now, None).await?;
        tracing::info!(user_id = %id, "account created");
        Ok(Account { id, handle, created_at: now })
    }

    /// The caller's own profile.
    pub async fn profile(&self, session: &Session) -> Result<Profile, CoreError> {
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        let dek = self
            .keys
            .existing_dek(&KeyScope::UserProfile(user.id))
            .await?
            .ok_or_else(|| CoreError::Internal("profile key missing for a live account".into()))?;
        let email = user.email.as_ref().map(|sealed| KeyRing::open_email(&dek, user.id, sealed)).transpose()?;
        Ok(Profile {
            account: Account { id: user.id, handle: user.handle, created_at: user.created_at },
            email,
            policy_acceptance_required: self.policy_acceptance_required(user.id).await?,
        })
    }

    /// Changes the caller's email address (their password, or a recent login for an account
    /// without one, proves it is them). The mail about it goes to the old address: whoever
    /// changed it, the owner hears of it where they read their mail until now.
    pub async fn change_email(
        &self,
        session: &Session,
        email: &str,
        password: Option<Secret<String>>,
        context: &ClientContext,
    ) -> Result<(), CoreError> {
        let email = EmailAddress::parse(email)?;
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        self.confirm_identity(&user, session, password).await?;
        let dek = self.keys.dek_for(&KeyScope::UserProfile(user.id), self.clock.now()).await?;
        let sealed = Sealed::from_bytes(dek.seal(email.expose().as_bytes(), &KeyRing::email_aad(&user.id))?);
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::EmailChanged, context).await?;
        self.store.change_email(user.id, &sealed, &self.keys.email_index(&email), &notice).await?;
        Ok(())
    }

    /// Proof for a sensitive change: the password, or (for an account without one) a login
    /// from the last ten minutes. Wrong passwords back off per user.
    pub(crate) async fn confirm_identity(
        &self,
        user: &parley_store::UserRecord,
        session: &Session,
        password: Option<Secret<String>>,
    ) -> Result<(), CoreError> {
        match (user.password_hash.clone(), password) {
            (Some(hash), Some(password)) => {
                self.check_code_budget(user.id)?;
                if !self.hash_work(move |hasher| hasher.verify(password.expose(), &hash)).await? {
                    return Err(self.wrong_password(user.id));
                }
                Ok(())
            }
            (Some(_), None) => Err(CoreError::InvalidCredentials),
            (None, _) => self.require_fresh(session),
        }
    }

    /// Erases the caller's account for good: checks the password (or, for an account without
    /// one, a login from the last ten minutes), destroys the user's data keys first (their
    /// profile key and their message key in every conversation, so every copy of the
    /// ciphertext, backups included, is unreadable), then the rows: sessions end at once,
    /// credentials, events and mail go, their messages stay as bodiless placeholders, and the
    /// account becomes a tombstone with a meaningless handle. Erasing twice finds no session.
    pub async fn erase_account(&self, session: &Session, password: Option<Secret<String>>) -> Result<(), CoreError> {
        let user = self.store.user_by_id(session.user_id()).await?.ok_or(CoreError::Unauthenticated)?;
        self.confirm_identity(&user, session, password).await?;
        self.erase_user(user.id, Actor::User(user.id)).await
    }

    /// Erases the account with this handle, for an operator answering an erasure request.
    pub async fn erase_by_handle(&self, handle: &str) -> Result<(), CoreError> {
        let handle = Handle::parse(handle).map_err(|_| CoreError::UserNotFound)?;
        let user = self.store.user_by_handle(&handle.key()).await?.ok_or(CoreError::UserNotFound)?;
        tracing::info!(user_id = %user.id, "account erasure by an operator");
        self.erase_user(user.id, Actor::Operator).await
    }

    /// Account recovery by an operator, once the owner proved who they are out of band (a lost
    /// phone and lost recovery codes, or an intruder who planted a factor of their own): every
    /// second factor, known device and session goes, the owner is mailed, and the log says who
    /// did it. The password stays; the owner logs in with it and enrols again.
    pub async fn reset_factors_by_handle(&self, handle: &str) -> Result<usize, CoreError> {
        let handle = Handle::parse(handle).map_err(|_| CoreError::UserNotFound)?;
        let user = self.store.user_by_handle(&handle.key()).await?.ok_or(CoreError::UserNotFound)?;
        let operator = ClientContext {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            network: parley_domain::Network::from_trusted("Parley support".to_owned()),
            device: parley_domain::DeviceLabel::operator(),
        };
        let notice = self.notice(user.id, user.email.as_ref(), SecurityEventKind::FactorsReset, &operator).await?;
        let ended = self.store.reset_factors(user.id, &notice).await?;
        let count = ended.len();
        for id in ended {
            self.session_ended(user.id, id);
        }
        tracing::info!(user_id = %user.id, "second factors reset by an operator");
        let details = serde_json::json!({"sessions_ended": count});
        self.audit(Actor::Operator, "account.factors_reset", &user.id.to_string(), &details).await?;
        Ok(count)
    }

    /// Keys first, then rows (see [`Parley::erase_account`]).
    async fn erase_user(&self, user: UserId, actor: Actor) -> Result<(), CoreError> {
        let now = self.clock.now();
        self.destroy_user_keys(user).await?;
        let tombstone = Handle::tombstone(&Uuid::new_v4().simple().to_string()[..12]);
        let ended = self.store.erase_user(user, &tombstone, now).await?;
        // A request that was already past authentication may have made a key again meanwhile
        // (a send, a new conversation): destroy whatever exists now, once more.
        self.destroy_user_keys(user).await?;
        let ended_count = ended.len();
        for id in ended {
            self.session_ended(user, id);
        }
        tracing::info!(user_id = %user, "account erased");
        metrics::counter!("parley_accounts_erased_total").increment(1);
        // The id is all that stays of the account: the log needs it, and it names no one.
        let details = serde_json::json!({"sessions_ended": ended_count, "keys": "destroyed before rows"});
        self.audit(actor, "account.erased", &user.to_string(), &details).await
    }

    /// Destroys the user's profile key and their message key in every conversation.
    async fn destroy_user_keys(&self, user: UserId) -> Result<(), CoreError> {
        for conversation in self.store.conversation_ids_of(user).await? {
            self.destroy_author_keys(conversation, user).await?;
        }
        self.keys.destroy(&KeyScope::UserProfile(user)).await?;
        Ok(())
    }
}
