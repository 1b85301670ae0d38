//! SigV4 for Query requests, as an auth scheme of the SDK's orchestrator: it resolves the
//! session's credentials through the session's identity cache (shared with every SDK client, so
//! an assumed role is not assumed again) and signs each attempt, retries included, at its own time.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::auth::static_resolver::{
    StaticAuthSchemeOptionResolver, StaticAuthSchemeOptionResolverParams,
};
use aws_smithy_runtime_api::client::auth::{
    AuthScheme, AuthSchemeEndpointConfig, AuthSchemeId, AuthSchemeOptionResolverParams, Sign,
};
use aws_smithy_runtime_api::client::identity::{
    Identity, SharedIdentityCache, SharedIdentityResolver,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{
    GetIdentityResolver, RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::StaticRuntimePlugin;
use aws_smithy_types::config_bag::{ConfigBag, Layer};

const SCHEME: AuthSchemeId = AuthSchemeId::new("sigv4");

/// The orchestrator's auth set-up for one service in one region.
pub(super) fn plugin(
    credentials: SharedCredentialsProvider,
    cache: SharedIdentityCache,
    region: String,
    signing_name: &'static str,
) -> StaticRuntimePlugin {
    let mut layer = Layer::new("query-sigv4");
    layer.store_put(AuthSchemeOptionResolverParams::new(
        StaticAuthSchemeOptionResolverParams::new(),
    ));
    let components = RuntimeComponentsBuilder::new("query-sigv4")
        .with_auth_scheme_option_resolver(Some(StaticAuthSchemeOptionResolver::new(vec![SCHEME])))
        .with_auth_scheme(SigV4(Signer {
            region,
            signing_name,
        }))
        .with_identity_resolver(SCHEME, SharedIdentityResolver::new(credentials))
        .with_identity_cache(Some(cache));
    StaticRuntimePlugin::new()
        .with_config(layer.freeze())
        .with_runtime_components(components)
}

#[derive(Debug)]
struct SigV4(Signer);

impl AuthScheme for SigV4 {
    fn scheme_id(&self) -> AuthSchemeId {
        SCHEME
    }

    fn identity_resolver(
        &self,
        identity_resolvers: &dyn GetIdentityResolver,
    ) -> Option<SharedIdentityResolver> {
        identity_resolvers.identity_resolver(SCHEME)
    }

    fn signer(&self) -> &dyn Sign {
        &self.0
    }
}

#[derive(Debug)]
struct Signer {
    region: String,
    signing_name: &'static str,
}

impl Sign for Signer {
    fn sign_http_request(
        &self,
        request: &mut HttpRequest,
        identity: &Identity,
        _endpoint_config: AuthSchemeEndpointConfig<'_>,
        components: &RuntimeComponents,
        _config: &ConfigBag,
    ) -> Result<(), BoxError> {
        if identity.data::<Credentials>().is_none() {
            return Err("SigV4 needs AWS credentials, and the identity resolved is not".into());
        }
        // Defaults: signature in headers, no x-amz-content-sha256 header (Query APIs need none).
        let params = v4::SigningParams::builder()
            .identity(identity)
            .region(&self.region)
            .name(self.signing_name)
            .time(components.time_source().unwrap_or_default().now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let body = request
            .body()
            .bytes()
            .map_or(SignableBody::UnsignedPayload, SignableBody::Bytes);
        let signable = SignableRequest::new(
            request.method(),
            request.uri(),
            request.headers().iter(),
            body,
        )?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        // With the signature in headers there are no query parameters to add.
        let (headers, _params) = instructions.into_parts();
        for header in headers {
            let mut value = http::HeaderValue::from_str(header.value())?;
            // Keeps the credentials out of debug logs of the request.
            value.set_sensitive(header.sensitive());
            request.headers_mut().insert(header.name(), value);
        }
        Ok(())
    }
}
