//! Paths to endpoints: `/services/…` and `/servicesNS/{owner}/{app}/…` alike, trailing slashes
//! and percent-encoded names accepted.

/// Which search API a path used: `search/jobs` (also `search/v1/jobs`) or `search/v2/jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    V1,
    V2,
}

/// An endpoint, with the names in its path decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Login,
    ServerInfo,
    Indexes,
    Index(String),
    /// `data/indexes/{name}/roll-hot-buckets`.
    RollHotBuckets(String),
    /// `configs/conf-{file}`.
    Conf(String),
    /// `configs/conf-{file}/{stanza}`.
    ConfStanza(String, String),
    /// `properties`.
    Properties,
    /// `properties/{file}`.
    PropertiesFile(String),
    /// `properties/{file}/{stanza}`.
    PropertiesStanza(String, String),
    /// `properties/{file}/{stanza}/{key}`.
    PropertiesKey(String, String, String),
    ReceiversSimple,
    ReceiversStream,
    HecEvent,
    HecRaw,
    HecHealth,
    HecAck,
    Jobs(Api),
    Export(Api),
    Job(Api, String),
    JobResults(Api, String),
    JobEvents(Api, String),
    JobControl(Api, String),
}

impl Route {
    /// Whether the endpoint is HEC's (its own authentication and reply bodies).
    pub(crate) fn is_hec(&self) -> bool {
        matches!(
            self,
            Self::HecEvent | Self::HecRaw | Self::HecHealth | Self::HecAck
        )
    }
}

/// The endpoint of a request path, or `None` when the engine has no such endpoint.
pub(crate) fn route(path: &str) -> Option<Route> {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(spoor_proto::form::decode_path_segment)
        .collect::<Option<_>>()?;
    let rest: Vec<&str> = match segments.first().map(String::as_str) {
        Some("services") => segments[1..].iter().map(String::as_str).collect(),
        Some("servicesNS") if segments.len() >= 3 => {
            segments[3..].iter().map(String::as_str).collect()
        }
        _ => return None,
    };
    let owned = |s: &str| s.to_owned();
    Some(match rest.as_slice() {
        ["auth", "login"] => Route::Login,
        ["server", "info"] => Route::ServerInfo,
        ["data", "indexes"] => Route::Indexes,
        ["data", "indexes", name] => Route::Index(owned(name)),
        ["data", "indexes", name, "roll-hot-buckets"] => Route::RollHotBuckets(owned(name)),
        ["configs", file] => Route::Conf(owned(file.strip_prefix("conf-")?)),
        ["configs", file, stanza] => {
            Route::ConfStanza(owned(file.strip_prefix("conf-")?), owned(stanza))
        }
        ["properties"] => Route::Properties,
        ["properties", file] => Route::PropertiesFile(owned(file)),
        ["properties", file, stanza] => Route::PropertiesStanza(owned(file), owned(stanza)),
        ["properties", file, stanza, key] => {
            Route::PropertiesKey(owned(file), owned(stanza), owned(key))
        }
        ["receivers", "simple"] => Route::ReceiversSimple,
        ["receivers", "stream"] => Route::ReceiversStream,
        ["collector"] | ["collector", "event"] | ["collector", "event", "1.0"] => Route::HecEvent,
        ["collector", "raw"] | ["collector", "raw", "1.0"] => Route::HecRaw,
        ["collector", "health"] | ["collector", "health", "1.0"] => Route::HecHealth,
        ["collector", "ack"] => Route::HecAck,
        ["search", rest @ ..] => return search_route(rest),
        _ => return None,
    })
}

fn search_route(rest: &[&str]) -> Option<Route> {
    let (api, rest) = match rest {
        ["jobs", rest @ ..] | ["v1", "jobs", rest @ ..] => (Api::V1, rest),
        ["v2", "jobs", rest @ ..] => (Api::V2, rest),
        _ => return None,
    };
    let sid = |s: &str| s.to_owned();
    Some(match rest {
        [] => Route::Jobs(api),
        ["export"] => Route::Export(api),
        [id] => Route::Job(api, sid(id)),
        [id, "results"] => Route::JobResults(api, sid(id)),
        [id, "events"] => Route::JobEvents(api, sid(id)),
        [id, "control"] => Route::JobControl(api, sid(id)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_namespaces_and_trailing_slashes() {
        for path in [
            "/services/data/indexes",
            "/services/data/indexes/",
            "/servicesNS/nobody/search/data/indexes/",
            "/servicesNS/-/-/data/indexes",
        ] {
            assert_eq!(route(path), Some(Route::Indexes), "{path}");
        }
        assert_eq!(
            route("/servicesNS/nobody/system/configs/conf-props/spoor%3A%3Aevents"),
            Some(Route::ConfStanza("props".into(), "spoor::events".into()))
        );
        assert_eq!(
            route("/services/search/v2/jobs/1.2/results/"),
            Some(Route::JobResults(Api::V2, "1.2".into()))
        );
        assert_eq!(
            route("/services/search/v1/jobs/export"),
            Some(Route::Export(Api::V1))
        );
        assert_eq!(route("/services/collector"), Some(Route::HecEvent));
        assert_eq!(
            route("/servicesNS/nobody/search/data/indexes/web/roll-hot-buckets/"),
            Some(Route::RollHotBuckets("web".into()))
        );
        assert_eq!(route("/services/collector/raw/1.0"), Some(Route::HecRaw));
        for none in [
            "/",
            "/services",
            "/services/nothing",
            "/servicesNS/x",
            "/services/configs/props",
            "/services/data/indexes/a/b",
            "/services/data/indexes/%FF",
        ] {
            assert_eq!(route(none), None, "{none}");
        }
    }
}
