//! The instance actor as the library needs it: the signer of our fetches (authorized-fetch
//! servers answer only signed GETs).

use activitypub_federation::{
    config::Data,
    traits::{Actor, Object},
};
use url::Url;

use crate::{db::models::InstanceKeys, error::Error, state::AppState, urls::Urls};

/// `/actor` with its keys.
#[derive(Clone)]
pub struct InstanceActor {
    id: Url,
    inbox: Url,
    keys: InstanceKeys,
}

impl std::fmt::Debug for InstanceActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceActor")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl InstanceActor {
    /// The instance actor of `urls` with `keys`.
    pub fn new(urls: &Urls, keys: InstanceKeys) -> Self {
        Self {
            id: urls.instance_actor(),
            inbox: urls.shared_inbox(),
            keys,
        }
    }
}

#[async_trait::async_trait]
impl Object for InstanceActor {
    type DataType = AppState;
    type Kind = serde_json::Value;
    type Error = Error;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(_id: Url, _data: &Data<AppState>) -> Result<Option<Self>, Error> {
        Ok(None)
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<serde_json::Value, Error> {
        Err(Error::NotFound(
            "instance actor JSON is served by routes::actor".to_owned(),
        ))
    }

    async fn verify(
        _json: &serde_json::Value,
        _domain: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), Error> {
        Err(Error::Invalid(
            "the instance actor is never received".to_owned(),
        ))
    }

    async fn from_json(_json: serde_json::Value, _data: &Data<AppState>) -> Result<Self, Error> {
        Err(Error::Invalid(
            "the instance actor is never received".to_owned(),
        ))
    }
}

impl Actor for InstanceActor {
    fn public_key_pem(&self) -> &str {
        &self.keys.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.keys.private_key_pem.clone())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}
