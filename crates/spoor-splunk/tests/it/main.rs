//! Integration tests: one scenario suite, written once over the [`Driver`] trait and run
//! through both drivers against a scripted fake server on loopback; then what is particular
//! to each runtime, and the memory bound of a large export.

mod memory;
mod runtimes;
mod scenarios;
mod server;

use spoor_proto::config::Scheme;
use spoor_proto::form::Form;
use spoor_proto::hec::{Batch, HecReply};
use spoor_proto::rest::{Index, ServerInfo, SubmitReceipt, SubmitTarget};
use spoor_proto::search::{ExportItem, SearchParams};
use spoor_proto::{Config, ConfigBuilder, Error, Machine, Service};
use spoor_splunk::SearchResults;

/// A fake Splunk's fixture body, compiled in.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../fixtures/", $name))
    };
}
pub(crate) use fixture;

/// What a scenario needs of a client, blocking or async (the async one runs each call to
/// its end on a current-thread runtime).
pub(crate) trait Driver: Sized {
    fn new(config: &Config) -> Result<Self, Error>;
    fn service(&self) -> Service;
    /// Lets time pass between calls, as an idle program does (the async driver's runtime
    /// keeps running its connection tasks meanwhile).
    fn idle(&self, pause: std::time::Duration);
    fn run<M: Machine>(&self, machine: &mut M) -> Result<M::Output, Error>;
    fn login(&self) -> Result<(), Error>;
    fn server_info(&self) -> Result<ServerInfo, Error>;
    fn search(&self, query: &str, params: SearchParams) -> Result<SearchResults, Error>;
    fn hec_send(&self, batch: Batch) -> Result<HecReply, Error>;
    fn indexes(&self) -> Result<Vec<Index>, Error>;
    fn create_index(&self, name: &str) -> Result<Index, Error>;
    fn props(&self, stanza: &str, keys: &Form) -> Result<(), Error>;
    fn submit(&self, target: &SubmitTarget, events: &[&str]) -> Result<SubmitReceipt, Error>;
    /// Reads an export to its end, handing each item to `each`; stops at the first error.
    fn export(
        &self,
        query: &str,
        params: &SearchParams,
        each: impl FnMut(ExportItem),
    ) -> Result<(), Error>;
}

pub(crate) struct Blocking(spoor_splunk::blocking::Client);

impl Driver for Blocking {
    fn new(config: &Config) -> Result<Self, Error> {
        spoor_splunk::blocking::Client::new(config).map(Self)
    }
    fn service(&self) -> Service {
        self.0.service()
    }
    fn idle(&self, pause: std::time::Duration) {
        std::thread::sleep(pause);
    }
    fn run<M: Machine>(&self, machine: &mut M) -> Result<M::Output, Error> {
        self.0.run(machine)
    }
    fn login(&self) -> Result<(), Error> {
        self.0.login()
    }
    fn server_info(&self) -> Result<ServerInfo, Error> {
        self.0.server_info()
    }
    fn search(&self, query: &str, params: SearchParams) -> Result<SearchResults, Error> {
        self.0.search(query, params)
    }
    fn hec_send(&self, batch: Batch) -> Result<HecReply, Error> {
        self.0.hec_send(batch)
    }
    fn indexes(&self) -> Result<Vec<Index>, Error> {
        self.0.indexes()
    }
    fn create_index(&self, name: &str) -> Result<Index, Error> {
        self.0.create_index(name, &Form::new())
    }
    fn props(&self, stanza: &str, keys: &Form) -> Result<(), Error> {
        self.0.props(stanza, keys)
    }
    fn submit(&self, target: &SubmitTarget, events: &[&str]) -> Result<SubmitReceipt, Error> {
        self.0.submit(target, events.iter().copied())
    }
    fn export(
        &self,
        query: &str,
        params: &SearchParams,
        mut each: impl FnMut(ExportItem),
    ) -> Result<(), Error> {
        for item in self.0.export(query, params)? {
            each(item?);
        }
        Ok(())
    }
}

pub(crate) struct Tokio {
    runtime: ::tokio::runtime::Runtime,
    client: spoor_splunk::tokio::Client,
}

impl Driver for Tokio {
    fn new(config: &Config) -> Result<Self, Error> {
        let runtime = ::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        let client = spoor_splunk::tokio::Client::new(config)?;
        Ok(Self { runtime, client })
    }
    fn service(&self) -> Service {
        self.client.service()
    }
    fn idle(&self, pause: std::time::Duration) {
        self.runtime
            .block_on(async move { ::tokio::time::sleep(pause).await });
    }
    fn run<M: Machine>(&self, machine: &mut M) -> Result<M::Output, Error> {
        self.runtime.block_on(self.client.run(machine))
    }
    fn login(&self) -> Result<(), Error> {
        self.runtime.block_on(self.client.login())
    }
    fn server_info(&self) -> Result<ServerInfo, Error> {
        self.runtime.block_on(self.client.server_info())
    }
    fn search(&self, query: &str, params: SearchParams) -> Result<SearchResults, Error> {
        self.runtime.block_on(self.client.search(query, params))
    }
    fn hec_send(&self, batch: Batch) -> Result<HecReply, Error> {
        self.runtime.block_on(self.client.hec_send(batch))
    }
    fn indexes(&self) -> Result<Vec<Index>, Error> {
        self.runtime.block_on(self.client.indexes())
    }
    fn create_index(&self, name: &str) -> Result<Index, Error> {
        self.runtime
            .block_on(self.client.create_index(name, &Form::new()))
    }
    fn props(&self, stanza: &str, keys: &Form) -> Result<(), Error> {
        self.runtime.block_on(self.client.props(stanza, keys))
    }
    fn submit(&self, target: &SubmitTarget, events: &[&str]) -> Result<SubmitReceipt, Error> {
        self.runtime
            .block_on(self.client.submit(target, events.iter().copied()))
    }
    fn export(
        &self,
        query: &str,
        params: &SearchParams,
        mut each: impl FnMut(ExportItem),
    ) -> Result<(), Error> {
        self.runtime.block_on(async {
            let mut rows = self.client.export(query, params).await?;
            while let Some(item) = rows.next().await {
                each(item?);
            }
            Ok(())
        })
    }
}

/// A configuration for a fake server on this port: plain HTTP, short time limits.
pub(crate) fn config(port: u16) -> ConfigBuilder {
    let mut builder = ConfigBuilder::new();
    builder
        .scheme(Scheme::Http)
        .host("127.0.0.1")
        .port(port)
        .connect_timeout(std::time::Duration::from_secs(2))
        .request_timeout(std::time::Duration::from_secs(5));
    builder
}

/// Every scenario, instantiated once per driver.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod blocking {
            $(#[test]
            fn $name() {
                crate::scenarios::$name::<crate::Blocking>();
            })*
        }
        mod tokio {
            $(#[test]
            fn $name() {
                crate::scenarios::$name::<crate::Tokio>();
            })*
        }
    };
}

scenarios!(
    login_and_relogin_on_401,
    wrong_password_is_one_clear_401,
    search_pages_over_250_results,
    run_steps_any_machine,
    export_drops_previews_after_a_relogin,
    hec_batch_retried_after_503_and_retry_after,
    connection_dropped_mid_stream,
    silent_server_times_out,
    stalled_stream_times_out,
    tls_with_a_private_ca,
    api_errors_keep_splunks_text,
    set_up_an_index_props_and_submit,
    a_connection_closed_while_idle_is_not_reused,
);
