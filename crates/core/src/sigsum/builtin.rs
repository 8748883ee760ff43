//! The named Sigsum policies compiled in, as Sigsum's own tools have them (`sigsum-verify -P NAME`).
//!
//! A name stands for a fixed policy: a new set of logs or witnesses gets a new name, never an edit of
//! an old one, so a proof that verified under a name keeps verifying under it.

use super::policy::{SigsumPolicyError, parse};
use crate::policy::Policy;

/// The production policy vetted by the Sigsum project: two logs, three independent witnesses, two of
/// which must cosign.
pub const SIGSUM_GENERIC_2025_1: &str = "\
# sigsum-generic-2025-1: the production policy vetted by the Sigsum project.

log 0ec7e16843119b120377a73913ac6acbc2d03d82432e2c36b841b09a95841f25 https://seasalp.glasklar.is
log f00c159663d09bbda6131ee1816863b6adcacfe80b0b288000b11aba8fe38314 https://ginkgo.tlog.mullvad.net

witness witness.glasklar.is            b2106db9065ec97f25e09c18839216751a6e26d8ed8b41e485a563d3d1498536
witness witness.mullvad.net            15d6d0141543247b74bab3c1076372d9c894f619c376d64b29aa312cc00f61ad
witness tillitis.se/tillitis-witness-1 076be8c9ee7ea60916f0df3608c945d7730082ecb37749dad2c9ed339fea770c

# Two of three: one witness may be down, and no single operator can vouch alone.
group quorum-rule 2 witness.glasklar.is witness.mullvad.net tillitis.se/tillitis-witness-1

quorum quorum-rule
";

/// The Sigsum project's test policy: two test logs and test witnesses (for trying things out; it
/// protects nothing).
pub const SIGSUM_TEST_2025_3: &str = "\
# sigsum-test-2025-3: the Sigsum test logs barreleye and serviceberry, with test witnesses.

log 4644af2abd40f4895a003bca350f9d5912ab301a49c77f13e5b6d905c20a5fe6 https://test.sigsum.org/barreleye
log 47e481606d8acba747a6b053d6c2d191605fb122175d410a1202a91430abce39 https://serviceberry.tlog.stagemole.eu

witness poc.sigsum.org/nisse                       1c25f8a44c635457e2e391d1efbca7d4c2951a0aef06225a881e46b98962ac6c
witness rgdd.se/poc-witness                        28c92a5a3a054d317c86fc2eeb6a7ab2054d6217100d0be67ded5b74323c5806
witness witness1.smartit.nu/witness1               f4855a0f46e8a3e23bb40faf260ee57ab8a18249fa402f2ca2d28a60e1a3130e
witness witness.navigli.sunlight.geomys.org        dcbf728e02d479f5a7e20dc09adf525833ed6e797526517aeb07fc6854849fc6
witness remora.n621.de                             ebcdeb78e7fdb2ef9227b2c1ef11e94600b55b4d6d9a57877e31ee89e59adc36
witness witness.stagemole.eu                       4a921b7caef58ae670cdc11ef4184f1c058f7b9259a9107a969f69fa54aa496f
witness tillitis.se/test-witness-1                 636582aec12f32c18a21733db9e3f718058ee7aaec6dbe4eb81781e0f4300c6e
witness transparency.dev/DEV:witness-little-garden 2b6eb0ec483503544cde4e8fc1ce6d1921db21dffccc186865f808f7625443cc

# Three witnesses run by one organisation count as one member.
group glasklar-test-witnesses 2 poc.sigsum.org/nisse rgdd.se/poc-witness witness1.smartit.nu/witness1

group quorum-rule 4 glasklar-test-witnesses witness.navigli.sunlight.geomys.org remora.n621.de witness.stagemole.eu tillitis.se/test-witness-1 transparency.dev/DEV:witness-little-garden

quorum quorum-rule
";

/// The names of the built-in policies, with their text.
pub const BUILTIN: [(&str, &str); 2] = [
    ("sigsum-generic-2025-1", SIGSUM_GENERIC_2025_1),
    ("sigsum-test-2025-3", SIGSUM_TEST_2025_3),
];

/// The text of the built-in policy called `name`.
pub fn text(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The built-in policy called `name`, parsed. (`Some(Err(..))` cannot happen for the texts above,
/// which the tests parse; it is returned rather than unwrapped so that nothing here can panic.)
pub fn policy(name: &str) -> Option<Result<Policy, SigsumPolicyError>> {
    text(name).map(parse)
}

/// The built-in names, comma-separated, for messages.
pub fn names() -> String {
    BUILTIN.map(|(n, _)| n).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Member, Quorum};
    use crate::sigsum::policy::log_verifier_key;

    fn key(hex_key: &str) -> [u8; 32] {
        hex::decode(hex_key).unwrap().try_into().unwrap()
    }

    #[test]
    fn the_production_policy() {
        let p = policy("sigsum-generic-2025-1").unwrap().unwrap();
        let logs: Vec<(&str, Option<&str>)> = p
            .logs
            .iter()
            .map(|l| (l.vkey.name.as_str(), l.url.as_deref()))
            .collect();
        let seasalp = log_verifier_key(&key(
            "0ec7e16843119b120377a73913ac6acbc2d03d82432e2c36b841b09a95841f25",
        ));
        let ginkgo = log_verifier_key(&key(
            "f00c159663d09bbda6131ee1816863b6adcacfe80b0b288000b11aba8fe38314",
        ));
        assert_eq!(
            logs,
            vec![
                (seasalp.name.as_str(), Some("https://seasalp.glasklar.is")),
                (
                    ginkgo.name.as_str(),
                    Some("https://ginkgo.tlog.mullvad.net")
                ),
            ]
        );
        let names: Vec<&str> = p.witnesses.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "witness.glasklar.is",
                "witness.mullvad.net",
                "tillitis.se/tillitis-witness-1"
            ]
        );
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0].threshold, 2);
        assert_eq!(p.quorum, Quorum::Member(Member::Group(0)));
        assert!(p.quorum_met(&["witness.mullvad.net", "tillitis.se/tillitis-witness-1"]));
        assert!(!p.quorum_met(&["witness.glasklar.is"]));
    }

    #[test]
    fn the_test_policy() {
        let p = policy("sigsum-test-2025-3").unwrap().unwrap();
        assert_eq!(p.logs.len(), 2);
        assert_eq!(
            p.logs[1].url.as_deref(),
            Some("https://serviceberry.tlog.stagemole.eu")
        );
        assert_eq!(p.witnesses.len(), 8);
        // 4 of: the Glasklar group (2 of its 3) and five single witnesses.
        assert!(p.quorum_met(&[
            "poc.sigsum.org/nisse",
            "rgdd.se/poc-witness",
            "remora.n621.de",
            "witness.stagemole.eu",
            "tillitis.se/test-witness-1"
        ]));
        assert!(!p.quorum_met(&[
            "poc.sigsum.org/nisse",
            "rgdd.se/poc-witness",
            "witness1.smartit.nu/witness1",
            "remora.n621.de",
            "witness.stagemole.eu"
        ]));
        assert!(policy("sigsum-test-2025-4").is_none());
        assert_eq!(names(), "sigsum-generic-2025-1, sigsum-test-2025-3");
    }
}
