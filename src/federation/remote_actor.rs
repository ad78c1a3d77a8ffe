//! Remote actors who write to our inbox: fetched once (by the library, when it verifies a
//! signature), cached in `remote_actors`, refreshed when the library finds the copy stale.

use activitypub_federation::{
    config::Data,
    protocol::{public_key::PublicKey, verification::verify_domains_match},
    traits::{Actor, Object},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::{db::models::RemoteActorRow, error::Error, state::AppState};

/// A remote actor as we keep it.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    id: Url,
    inbox: Url,
    shared_inbox: Option<Url>,
    public_key_pem: String,
    fetched_at: DateTime<Utc>,
}

impl RemoteActor {
    /// Its shared inbox, if it has one.
    pub fn shared_inbox(&self) -> Option<&Url> {
        self.shared_inbox.as_ref()
    }

    fn from_row(row: RemoteActorRow) -> Result<Self, Error> {
        let url =
            |s: &str| Url::parse(s).map_err(|e| Error::Invalid(format!("stored actor URL: {e}")));
        Ok(Self {
            id: url(&row.ap_id)?,
            inbox: url(&row.inbox)?,
            shared_inbox: row.shared_inbox.as_deref().map(url).transpose()?,
            public_key_pem: row.public_key_pem,
            fetched_at: row.fetched_at.and_utc(),
        })
    }
}

/// `endpoints` as other servers send it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default)]
    shared_inbox: Option<Url>,
}

/// What we read of a remote actor document; everything else is ignored.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorJson {
    id: Url,
    inbox: Url,
    #[serde(default)]
    endpoints: Option<Endpoints>,
    public_key: PublicKey,
}

#[async_trait::async_trait]
impl Object for RemoteActor {
    type DataType = AppState;
    type Kind = ActorJson;
    type Error = Error;

    fn id(&self) -> &Url {
        &self.id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.fetched_at)
    }

    async fn read_from_id(id: Url, data: &Data<AppState>) -> Result<Option<Self>, Error> {
        let key = id.to_string();
        let row = data.db.read(move |c| RemoteActorRow::find(c, &key)).await?;
        row.map(Self::from_row).transpose()
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<ActorJson, Error> {
        // We never serve remote actors.
        Err(Error::NotFound(format!("remote actor {}", self.id)))
    }

    async fn verify(
        json: &ActorJson,
        expected_domain: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), Error> {
        // The document must come from the actor's own host, and so must its inbox and key:
        // nothing from one server is trusted for another's actor.
        verify_domains_match(&json.id, expected_domain)?;
        verify_domains_match(&json.inbox, expected_domain)?;
        verify_domains_match(&json.public_key.owner, expected_domain)?;
        Ok(())
    }

    async fn from_json(json: ActorJson, data: &Data<AppState>) -> Result<Self, Error> {
        let row = RemoteActorRow {
            ap_id: json.id.to_string(),
            inbox: json.inbox.to_string(),
            shared_inbox: json
                .endpoints
                .and_then(|e| e.shared_inbox)
                .map(String::from),
            public_key_pem: json.public_key.public_key_pem,
            fetched_at: data.clock.now(),
        };
        let stored = row.clone();
        data.db.write(move |c| stored.upsert(c)).await?;
        Self::from_row(row)
    }
}

impl Actor for RemoteActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        None
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.shared_inbox.clone()
    }
}
