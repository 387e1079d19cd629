//! The eleven connection states of RFC 9293 (3.3.2, Figure 5).
//!
//! ```text
//!                             +---------+ ---------\      active OPEN
//!                             |  CLOSED |            \    -----------
//!                             +---------+<---------\   \   create TCB
//!                               |     ^              \   \  snd SYN
//!                  passive OPEN |     |   CLOSE        \   \
//!                  ------------ |     | ----------       \   \
//!                   create TCB  |     | delete TCB         \   \
//!                               V     |                      \   \
//!           rcv RST (note 1)  +---------+            CLOSE    |    \
//!        -------------------->|  LISTEN |          ---------- |     |
//!       /                     +---------+          delete TCB |     |
//!      /           rcv SYN      |     |     SEND              |     |
//!     /           -----------   |     |    -------            |     V
//! +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
//! |        |<-----------------           ------------------>|        |
//! |  SYN   |                    rcv SYN                     |  SYN   |
//! |  RCVD  |<-----------------------------------------------|  SENT  |
//! |        |                  snd SYN,ACK                   |        |
//! |        |------------------           -------------------|        |
//! +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
//!    |         --------------   |     |   -----------
//!    |                x         |     |     snd ACK
//!    |                          V     V
//!    |  CLOSE                 +---------+
//!    | -------                |  ESTAB  |
//!    | snd FIN                +---------+
//!    |                 CLOSE    |     |    rcv FIN
//!    V                -------   |     |    -------
//! +---------+         snd FIN  /       \   snd ACK         +---------+
//! |  FIN    |<----------------          ------------------>|  CLOSE  |
//! | WAIT-1  |------------------                            |   WAIT  |
//! +---------+          rcv FIN  \                          +---------+
//!   | rcv ACK of FIN   -------   |                          CLOSE  |
//!   | --------------   snd ACK   |                         ------- |
//!   V        x                   V                         snd FIN V
//! +---------+               +---------+                    +---------+
//! |FINWAIT-2|               | CLOSING |                    | LAST-ACK|
//! +---------+               +---------+                    +---------+
//!   |                rcv ACK of FIN |                 rcv ACK of FIN |
//!   |  rcv FIN       -------------- |    Timeout=2MSL -------------- |
//!   |  -------              x       V    ------------        x       V
//!    \ snd ACK              +---------+delete TCB          +---------+
//!      -------------------->|TIME-WAIT|------------------->| CLOSED  |
//!                           +---------+                    +---------+
//! ```
//!
//! Note 2 of the figure: "A transition from FIN-WAIT-1 to TIME-WAIT if a FIN is received
//! and the local FIN is also acknowledged" is also possible; synack takes it.

use core::fmt;

/// A TCP connection state, printed as RFC 9293 spells it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a connection request.
    Listen,
    /// Sent a SYN, waiting for a matching SYN.
    SynSent,
    /// Received and sent a SYN, waiting for the ACK of ours.
    SynReceived,
    /// Open; data flows both ways.
    Established,
    /// We sent FIN; waiting for its ACK or the peer's FIN.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer sent FIN; waiting for our application to close.
    CloseWait,
    /// Both sent FIN at once; waiting for the ACK of ours.
    Closing,
    /// The peer closed first and we sent our FIN; waiting for its ACK.
    LastAck,
    /// Waiting 2×MSL so a lost final ACK can be repeated.
    TimeWait,
}

impl State {
    /// All states, in Figure 5 order.
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// The RFC spelling: `CLOSED`, `SYN-SENT`, `TIME-WAIT`, ...
    pub const fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// Parse an RFC spelling (as [`State::name`] prints it).
    pub fn from_name(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.name() == s)
    }

    /// "synchronized" states (RFC 9293 3.5.2: ESTABLISHED and after).
    pub const fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent | State::SynReceived)
    }

    /// Whether we may still send data (we have not sent FIN).
    pub const fn can_send(self) -> bool {
        matches!(self, State::Established | State::CloseWait | State::SynSent | State::SynReceived)
    }

    /// Whether the peer may still send us data (it has not sent FIN).
    pub const fn can_receive(self) -> bool {
        matches!(self, State::Established | State::FinWait1 | State::FinWait2)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_rfc_spelling() {
        for s in State::ALL {
            assert_eq!(State::from_name(s.name()), Some(s));
        }
        assert_eq!(State::SynReceived.to_string(), "SYN-RECEIVED");
        assert_eq!(State::FinWait2.to_string(), "FIN-WAIT-2");
        assert_eq!(State::from_name("ESTAB"), None);
    }

    #[test]
    fn synchronized_states_are_established_and_later() {
        let sync: Vec<_> = State::ALL.into_iter().filter(|s| s.is_synchronized()).collect();
        assert_eq!(
            sync,
            vec![
                State::Established,
                State::FinWait1,
                State::FinWait2,
                State::CloseWait,
                State::Closing,
                State::LastAck,
                State::TimeWait
            ]
        );
    }
}
