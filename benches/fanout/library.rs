//! The library's own signing and sending, driven directly.

use std::time::{Duration, Instant};

use activitypub_federation::{
    activity_sending::SendActivityTask,
    config::{Data, FederationConfig},
    traits::{Activity, Actor, Object},
};
use futures_util::StreamExt;
use serde::Serialize;
use url::Url;

use super::sinks::Group;
use crate::common::cpu_seconds;

#[derive(Debug, Clone)]
struct Sender {
    id: Url,
    private_key: String,
}

#[async_trait::async_trait]
impl Object for Sender {
    type DataType = ();
    type Kind = serde_json::Value;
    type Error = activitypub_federation::error::Error;
    fn id(&self) -> &Url {
        &self.id
    }
    async fn read_from_id(_: Url, _: &Data<()>) -> Result<Option<Self>, Self::Error> {
        Ok(None)
    }
    async fn into_json(self, _: &Data<()>) -> Result<serde_json::Value, Self::Error> {
        Ok(serde_json::Value::Null)
    }
    async fn verify(_: &serde_json::Value, _: &Url, _: &Data<()>) -> Result<(), Self::Error> {
        Ok(())
    }
    async fn from_json(_: serde_json::Value, _: &Data<()>) -> Result<Self, Self::Error> {
        Err(activitypub_federation::error::Error::NotFound)
    }
}

impl Actor for Sender {
    fn public_key_pem(&self) -> &str {
        ""
    }
    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key.clone())
    }
    fn inbox(&self) -> Url {
        self.id.clone()
    }
}

#[derive(Debug, Serialize)]
struct Create {
    id: Url,
    actor: Url,
    #[serde(rename = "type")]
    kind: &'static str,
    object: serde_json::Value,
}

#[async_trait::async_trait]
impl Activity for Create {
    type DataType = ();
    type Error = activitypub_federation::error::Error;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, _: &Data<()>) -> Result<(), Self::Error> {
        Ok(())
    }
    async fn receive(self, _: &Data<()>) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Sends one Create to every inbox; returns the wall time and this process's CPU time.
pub async fn fan_out(
    domain: &str,
    private_key: String,
    inboxes: Vec<Url>,
    arrivals: &Group,
) -> (Duration, f64) {
    let config = FederationConfig::builder()
        .domain(domain)
        .app_data(())
        .debug(true)
        .build()
        .await
        .unwrap();
    let data = config.to_request_data();
    let actor_id: Url = format!("http://{domain}/streams/fan_out_fm")
        .parse()
        .unwrap();
    let sender = Sender {
        id: actor_id.clone(),
        private_key,
    };
    let activity = Create {
        id: format!("http://{domain}/activities/library")
            .parse()
            .unwrap(),
        actor: actor_id,
        kind: "Create",
        object: serde_json::json!({ "type": "Note", "content": "on air" }),
    };
    let cpu_before = cpu_seconds(std::process::id());
    let start = Instant::now();
    let tasks = SendActivityTask::prepare(&activity, &sender, inboxes, &data)
        .await
        .unwrap();
    futures_util::stream::iter(tasks)
        .map(|task| {
            let data = data.clone();
            async move { task.sign_and_send(&data).await }
        })
        .buffer_unordered(64)
        .for_each(|_| async {})
        .await;
    while !arrivals.served() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (
        start.elapsed(),
        cpu_seconds(std::process::id()) - cpu_before,
    )
}
