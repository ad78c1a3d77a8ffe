//! End-to-end with Debian's icecast2 and ezstream (filled in below).
