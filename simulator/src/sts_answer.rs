//! What the front door reads in STS's answers it forwards: the account of the credentials an
//! `AssumeRole` answer holds.

/// The access key and account of the credentials an `AssumeRole` answer (STS's XML) holds: the
/// account is the assumed role's (`arn:aws:sts::ACCOUNT:assumed-role/...`).
pub fn assumed_credentials(answer: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(answer).ok()?;
    if !text.contains("<AssumeRoleResult>") {
        return None;
    }
    let element = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].trim().to_owned())
    };
    let access_key = element("AccessKeyId")?;
    let account = element("Arn")?
        .strip_prefix("arn:")?
        .split(':')
        .nth(3)?
        .to_owned();
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then_some((access_key, account))
}

#[cfg(test)]
mod tests {
    use super::assumed_credentials;

    #[test]
    fn when_sts_answers_an_assume_role_then_its_key_is_known_by_the_roles_account() {
        let answer = br#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <AssumeRoleResult>
    <Credentials>
      <SessionToken>FQoGZXIvYXdzEXAMPLE</SessionToken>
      <SecretAccessKey>aJq5EXAMPLE</SecretAccessKey>
      <Expiration>2026-11-29T11:00:00Z</Expiration>
      <AccessKeyId>ASIA1234567890EXAMPLE</AccessKeyId>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::444455556666:assumed-role/AutomationFabric-ResultsReader/fabric</Arn>
      <AssumedRoleId>AROA1234567890EXAMPLE:fabric</AssumedRoleId>
    </AssumedRoleUser>
      </AssumeRoleResult>
    </AssumeRoleResponse>"#;
        assert_eq!(
            assumed_credentials(answer),
            Some((
                "ASIA1234567890EXAMPLE".to_owned(),
                "444455556666".to_owned()
            ))
        );
        assert_eq!(assumed_credentials(b"<ListBucketResult/>"), None);
        assert_eq!(
            assumed_credentials(
                b"<AssumeRoleResult><AccessKeyId>K</AccessKeyId></AssumeRoleResult>"
            ),
            None,
            "no role ARN, no account"
        );
    }
}
