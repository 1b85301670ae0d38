//! A minimal HTTP/1.1 client over a keep-alive `TcpStream`: the proxy's control endpoint, STS and the
//! floor client use it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Bodies larger than this are refused.
const MAX_BODY: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The start of the body, for error messages.
    pub fn excerpt(&self) -> String {
        let text = self.text();
        let text = text.trim();
        match text.char_indices().nth(300) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text.to_string(),
        }
    }
}

/// One keep-alive connection to `http://HOST:PORT`, reopened when the server closes it.
pub struct Connection {
    authority: String,
    addr: SocketAddr,
    timeout: Duration,
    stream: Option<BufReader<TcpStream>>,
}

impl Connection {
    /// Resolves `endpoint` (`http://HOST:PORT`, any path ignored); connects on the first request.
    pub fn new(endpoint: &str, timeout: Duration) -> Result<Self, String> {
        let authority = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{endpoint}` is not an http:// URL"))?
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_string();
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve `{authority}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{authority}` has no address"))?;
        Ok(Self {
            authority,
            addr,
            timeout,
            stream: None,
        })
    }

    /// Sends one request and reads its response. A request on a reused connection that the server had
    /// closed meanwhile is sent again once on a new connection.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.authority);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut request = request.into_bytes();
        request.extend_from_slice(body);

        let reused = self.stream.is_some();
        match self.exchange(&request, method) {
            Err(e) if reused && is_stale_connection(&e) => {
                self.stream = None;
                self.exchange(&request, method)
            }
            result => result,
        }
    }

    fn exchange(&mut self, request: &[u8], method: &str) -> io::Result<Response> {
        let result = self.try_exchange(request, method);
        match &result {
            Ok(response)
                if response
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close")) =>
            {
                self.stream = None;
            }
            Ok(_) => {}
            Err(_) => self.stream = None,
        }
        result
    }

    fn try_exchange(&mut self, request: &[u8], method: &str) -> io::Result<Response> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, self.timeout)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(self.timeout))?;
            stream.set_write_timeout(Some(self.timeout))?;
            self.stream = Some(BufReader::new(stream));
        }
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| io::Error::other("no stream"))?;
        stream.get_mut().write_all(request)?;
        read_response(stream, method == "HEAD")
    }
}

/// What a server that closed an idle keep-alive connection looks like to the next request.
fn is_stale_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// One request on a connection of its own.
pub fn request(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, String> {
    Connection::new(endpoint, timeout)?
        .send(method, path, headers, body)
        .map_err(|e| format!("{method} {endpoint}{path}: {e}"))
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads a status line, headers and a body (`Content-Length`, chunked, or up to the end).
pub fn read_response(reader: &mut impl BufRead, head_only: bool) -> io::Result<Response> {
    let status_line = read_line(reader)?;
    let mut parts = status_line.splitn(3, ' ');
    let status = match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("not an HTTP response: {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("malformed header {line:?}")))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(response);
    }
    if response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        response.body = read_chunked(reader)?;
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
        if length > MAX_BODY {
            return Err(invalid(format!("body of {length} bytes is too large")));
        }
        response.body = vec![0; length];
        reader.read_exact(&mut response.body)?;
    } else {
        reader
            .take(MAX_BODY as u64)
            .read_to_end(&mut response.body)?;
        // The body ran to the end of the connection: it cannot be reused.
        response
            .headers
            .push(("Connection".to_string(), "close".to_string()));
    }
    Ok(response)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("chunked body is too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn reads_responses_of_every_framing() {
        let mut input: &[u8] =
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhiHTTP/1.1 400 Bad\r\n\
            Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n\
            HTTP/1.0 500 Oops\r\n\r\nto the end";
        let first = read_response(&mut input, false).expect("first");
        assert_eq!(
            (first.status, first.text().as_str(), first.header("x-a")),
            (200, "hi", Some("b"))
        );
        let second = read_response(&mut input, false).expect("second");
        assert_eq!((second.status, second.text().as_str()), (400, "abcde"));
        let third = read_response(&mut input, false).expect("third");
        assert_eq!((third.status, third.text().as_str()), (500, "to the end"));
        assert_eq!(third.header("connection"), Some("close"));
        assert!(read_response(&mut input, false).is_err());
        assert!(read_response(&mut &b"SSH-2.0\r\n\r\n"[..], false).is_err());
    }

    #[test]
    fn keeps_the_connection_alive_and_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let server = thread::spawn(move || {
            // First connection: two requests, then closed by the server; second connection: one.
            for requests in [2, 1] {
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream);
                for _ in 0..requests {
                    let mut length = 0;
                    loop {
                        let line = read_line(&mut reader).expect("line");
                        if line.is_empty() {
                            break;
                        }
                        if let Some(value) = line.strip_prefix("Content-Length: ") {
                            length = value.parse().expect("length");
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).expect("body");
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
                        body.len(),
                        String::from_utf8_lossy(&body)
                    );
                    reader.get_mut().write_all(reply.as_bytes()).expect("reply");
                }
            }
        });
        let mut connection = Connection::new(&endpoint, Duration::from_secs(5)).expect("new");
        for body in ["one", "two", "three"] {
            let response = connection
                .send("POST", "/", &[("X-Test", "1")], body.as_bytes())
                .expect("send");
            assert_eq!(response.text(), body);
        }
        server.join().expect("server");
    }
}
