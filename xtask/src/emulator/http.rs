//! Just enough HTTP/1.1 over a `TcpStream` to talk to the emulator's `/moto-api/`.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Responses larger than this are cut (the emulator's dashboard is about 10 KB).
const MAX_RESPONSE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// `http://HOST[:PORT][/...]` to `(HOST, PORT)`.
pub(crate) fn host_port(endpoint: &str) -> Result<(String, u16), String> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{endpoint}` is not an http:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("`{endpoint}` has no host"));
    }
    // [::1]:port
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{endpoint}` has an unterminated IPv6 address"))?;
        let port = match after.strip_prefix(':') {
            Some(port) => parse_port(port, endpoint)?,
            None if after.is_empty() => 80,
            None => return Err(format!("`{endpoint}` has a malformed authority")),
        };
        return Ok((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), parse_port(port, endpoint)?)),
        None => Ok((authority.to_string(), 80)),
    }
}

fn parse_port(port: &str, endpoint: &str) -> Result<u16, String> {
    port.parse()
        .map_err(|_| format!("`{endpoint}` has an invalid port `{port}`"))
}

/// Sends `METHOD path` with an empty body and reads the whole response, within `timeout` overall.
pub(crate) fn request(
    endpoint: &str,
    method: &str,
    path: &str,
    timeout: Duration,
) -> io::Result<Response> {
    let deadline = Instant::now() + timeout;
    let (host, port) =
        host_port(endpoint).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut last_error = None;
    let mut stream = None;
    for addr in (host.as_str(), port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let mut stream = match stream {
        Some(stream) => stream,
        None => {
            return Err(last_error.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
            }));
        }
    };
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    let host_header = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: kmsctl-xtask\r\n\
         Accept: */*\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    stream.flush()?;

    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() >= MAX_RESPONSE || is_complete(&buf) {
            break;
        }
    }
    parse_response(&buf)
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
    } else {
        Ok(left)
    }
}

fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Whether `buf` holds the head and a `Content-Length` body in full.
fn is_complete(buf: &[u8]) -> bool {
    let Some(end) = header_end(buf) else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let length = head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    length.is_some_and(|length| buf.len() - end >= length)
}

/// The status code of an HTTP/1.x status line (`HTTP/1.1 200 OK`), from the start of a response.
pub(crate) fn parse_status_line(response: &[u8]) -> Option<u16> {
    let line_end = response.iter().position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&response[..line_end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !(version.starts_with("HTTP/1.") && version.len() == 8) {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok().filter(|code| (100..=599).contains(code))
}

pub(crate) fn parse_response(buf: &[u8]) -> io::Result<Response> {
    let status = parse_status_line(buf).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&buf[..buf.len().min(80)])
            ),
        )
    })?;
    let body = header_end(buf).map_or_else(Vec::new, |end| buf[end..].to_vec());
    Ok(Response { status, body })
}

/// The start of a response body, for error messages.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status_line(b"HTTP/1.0 500 INTERNAL SERVER ERROR\r\nX: y\r\n\r\n"),
            Some(500)
        );
        assert_eq!(parse_status_line(b"HTTP/1.1 204\r\n"), Some(204));
        assert_eq!(parse_status_line(b"HTTP/1.1 404 Not Found\n"), Some(404));
        assert_eq!(
            parse_status_line(b"HTTP/1.1 200 OK"),
            None,
            "incomplete line"
        );
        assert_eq!(parse_status_line(b"HTTP/2 200\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 20 OK\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 abc OK\r\n"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 999 Nope\r\n"), None);
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status_line(b""), None);
    }

    #[test]
    fn responses() {
        let response =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"status\": \"ok\"}")
                .expect("a response");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{\"status\": \"ok\"}");
        assert!(parse_response(b"garbage").is_err());
        assert!(is_complete(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        ));
        assert!(!is_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok"
        ));
        assert!(
            !is_complete(b"HTTP/1.1 200 OK\r\n\r\nok"),
            "no length: read to EOF"
        );
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            host_port("http://127.0.0.1:4566"),
            Ok(("127.0.0.1".into(), 4566))
        );
        assert_eq!(
            host_port("http://localhost:5000/"),
            Ok(("localhost".into(), 5000))
        );
        assert_eq!(
            host_port("http://example.com/x?y"),
            Ok(("example.com".into(), 80))
        );
        assert_eq!(host_port("http://[::1]:8080"), Ok(("::1".into(), 8080)));
        assert!(host_port("https://127.0.0.1:1").is_err());
        assert!(host_port("http://127.0.0.1:http").is_err());
        assert!(host_port("http://").is_err());
    }

    #[test]
    fn request_against_a_local_server() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = Vec::new();
            let mut chunk = [0_u8; 1024];
            while header_end(&request).is_none() {
                let n = stream.read(&mut chunk).expect("read");
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"status\": \"ok\"}")
                .expect("write");
            String::from_utf8(request).expect("utf-8")
        });
        let response = request(
            &format!("http://127.0.0.1:{port}"),
            "POST",
            "/moto-api/reset",
            Duration::from_secs(5),
        )
        .expect("response");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{\"status\": \"ok\"}");
        let sent = server.join().expect("server thread");
        assert!(
            sent.starts_with("POST /moto-api/reset HTTP/1.1\r\n"),
            "{sent}"
        );
        assert!(sent.contains("\r\nContent-Length: 0\r\n"), "{sent}");
        assert!(
            sent.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
            "{sent}"
        );
    }

    #[test]
    fn request_to_a_closed_port_fails() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        assert!(
            request(
                &format!("http://127.0.0.1:{port}"),
                "GET",
                "/",
                Duration::from_secs(2)
            )
            .is_err()
        );
    }
}
