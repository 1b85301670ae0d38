//! What a custom key store's `ConnectionErrorCode` means, and what to do about it.

pub fn explain(code: &str) -> &'static str {
    match code {
        "USER_NOT_FOUND" => {
            "the kmsuser crypto user is missing on at least one HSM: create it with `cloudhsm-cli user create --username kmsuser --role crypto-user` (users are synchronised to every HSM of the cluster), then plan again"
        }
        "USER_LOCKED_OUT" => {
            "kmsuser is locked out after too many failed logins: reset its password with cloudhsm-cli, update the key store's password (UpdateCustomKeyStore) and plan again"
        }
        "USER_LOGGED_IN" => {
            "kmsuser is logged in from a CloudHSM client: log it out, then plan again"
        }
        "INVALID_CREDENTIALS" => {
            "the password in password_env is not kmsuser's: export the right one, or reset it with cloudhsm-cli and update the key store"
        }
        "INSUFFICIENT_CLOUDHSM_HSMS" => {
            "the cluster has no active HSM: wait for the HSMs to be ACTIVE (or raise hsm_count) and plan again"
        }
        "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET" => {
            "a cluster subnet has no free IP address left for KMS's network interface: free some or add a subnet"
        }
        "CLUSTER_NOT_FOUND" => "the key store's cluster no longer exists",
        "NETWORK_ERRORS" => {
            "KMS cannot reach the cluster: check the cluster's security group allows TCP 2223–2225 from itself"
        }
        "SUBNET_NOT_FOUND" => "a subnet of the cluster was deleted: restore the cluster's subnets",
        "HSM_NOT_FOUND" | "INSUFFICIENT_HSMS" => {
            "the cluster lost its HSMs: add HSMs (hsm_count) and plan again"
        }
        "INTERNAL_ERROR" => "KMS reports an internal error: try again later",
        _ => "see KMS's ConnectionErrorCode reference for this code",
    }
}
