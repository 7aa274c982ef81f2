//! TLS settings from [`TlsConfig`], once for both drivers: which server certificates to
//! trust, with rustls and the ring provider.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use spoor_proto::Error;
use spoor_proto::config::TlsConfig;

/// Which server certificates a driver accepts.
#[derive(Debug, Clone)]
pub(crate) enum Trust {
    /// Certificates that chain to the web PKI roots (`webpki-roots`), for the server's name.
    WebPki,
    /// Certificates that chain to these roots only (a custom CA), for the server's name.
    Roots(Vec<CertificateDer<'static>>),
    /// Any certificate for any name: the explicit insecure switch.
    Anything,
}

impl Trust {
    /// The trust [`TlsConfig`] asks for.
    pub(crate) fn new(tls: &TlsConfig) -> Result<Self, Error> {
        if !tls.verify {
            return Ok(Self::Anything);
        }
        let Some(pem) = &tls.ca_pem else {
            return Ok(Self::WebPki);
        };
        let roots = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| config_error("the CA certificates are not valid PEM"))?;
        if roots.is_empty() {
            return Err(config_error("the CA PEM holds no certificate"));
        }
        Ok(Self::Roots(roots))
    }
}

/// rustls's ring provider, which both drivers use.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(message: &str) -> Error {
    Error::Config {
        message: message.to_owned(),
    }
}

/// A rustls client configuration for `trust` (HTTP/1.1 only).
#[cfg(feature = "tokio")]
pub(crate) fn client_config(trust: &Trust) -> Result<rustls::ClientConfig, Error> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(Error::tls)?;
    let roots = |certs: &[CertificateDer<'static>]| {
        let mut store = rustls::RootCertStore::empty();
        store.add_parsable_certificates(certs.iter().cloned());
        if store.is_empty() {
            Err(config_error("no CA certificate could be used"))
        } else {
            Ok(store)
        }
    };
    let config = match trust {
        Trust::WebPki => builder.with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
        Trust::Roots(certs) => builder.with_root_certificates(roots(certs)?),
        Trust::Anything => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAnything(provider()))),
    };
    Ok(config.with_no_client_auth())
}

/// The verifier behind the insecure switch.
#[cfg(feature = "tokio")]
mod insecure {
    use std::sync::Arc;

    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    /// Accepts any certificate for any name; still checks the handshake signatures, so the
    /// session is at least bound to the certificate the server showed.
    #[derive(Debug)]
    pub(super) struct AcceptAnything(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnything {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(verify: bool, ca_pem: Option<&str>) -> TlsConfig {
        TlsConfig {
            verify,
            ca_pem: ca_pem.map(str::to_owned),
        }
    }

    #[test]
    fn trust_follows_the_settings() {
        assert!(matches!(Trust::new(&tls(true, None)), Ok(Trust::WebPki)));
        assert!(matches!(
            Trust::new(&tls(false, Some("ignored"))),
            Ok(Trust::Anything)
        ));
        let err = Trust::new(&tls(true, Some("no pem here"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: the CA PEM holds no certificate"
        );
    }
}
