//! Which addresses an article page may be fetched from.
//!
//! A feed names the pages tidings fetches for full content, so a feed could
//! name `http://169.254.169.254/` (a cloud's metadata service),
//! `http://100.100.100.200/` (Alibaba Cloud's), the router's admin page or a
//! database's HTTP port on the machine itself. Pages from anywhere but the
//! feed's own origin must therefore come from public addresses, and the check
//! has to be made on the addresses a connection really goes to: the name is
//! resolved by [`PublicOnly`], which hands reqwest only public addresses (so a
//! name that resolves to a public address for the check and a private one for
//! the connection cannot slip through), and `fetch` checks literal addresses,
//! which reach no resolver, and every redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is on the public internet: not loopback, private,
/// shared (carrier NAT, where Alibaba Cloud's metadata service lives),
/// link-local (the metadata service of the other clouds), multicast,
/// documentation, benchmarking or otherwise reserved.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(a == 0                                   // "this network"
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared (carrier NAT)
        || (a == 169 && b == 254)              // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 168)              // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = address.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match segments {
        // NAT64 and 6to4 reach the IPv4 address they carry.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => is_public_v4(embedded_v4(high, low)),
        [0x2002, high, low, ..] => is_public_v4(embedded_v4(high, low)),
        [first, second, ..] => {
            !(address.is_unspecified()
                || address.is_loopback()
                || address.is_multicast()
                || first & 0xfe00 == 0xfc00 // unique local (AWS metadata: fd00:ec2::254)
                || first & 0xffc0 == 0xfe80 // link-local
                || first & 0xffc0 == 0xfec0 // site-local
                || (first == 0x2001 && second == 0x0db8) // documentation
                || (first == 0 && segments[1..6] == [0; 5])) // IPv4-compatible, deprecated
        }
    }
}

/// A page's host resolved only to addresses it may not be fetched from.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to private or reserved addresses ({addresses})")]
pub struct NotPublic {
    pub host: String,
    pub addresses: String,
}

/// The resolver of page fetches that must reach public addresses: the
/// system's answer, without its private addresses.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|address| is_public(address.ip()))
                .collect();
            if public.is_empty() {
                let addresses = resolved
                    .iter()
                    .map(|address| address.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(NotPublic { host, addresses }) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(address.parse().unwrap()), "{address}");
        }
        for address in [
            "1.1.1.1",
            "114.114.114.114",
            "203.119.1.1",
            "2400:3200::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(address.parse().unwrap()), "{address}");
        }
    }
}
