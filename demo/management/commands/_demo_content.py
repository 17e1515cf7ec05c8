"""Content of the demo course, taken from the course announcement (shared/seed-course-announcement.txt)."""

COURSE = {
    "slug": "advanced-webrtc-architecture",
    "title": "Advanced WebRTC Architecture",
    "tagline": "Understand the limits and capabilities of WebRTC, and how to use it effectively in your product.",
    "instructor_name": "Dana Rivers",
    "instructor_bio": (
        "Dana Rivers has built real-time video products for fifteen years: media servers, "
        "contact-centre calling and the test labs that keep them honest.\n\n"
        "Dana consults for teams who ship WebRTC and answers every question in the course forum."
    ),
    "contact_email": "instructor@example.com",
    "description": """\
A self-paced course, run in cohorts, for developers, product managers, testers and whole teams who
work with WebRTC. Each lesson has a page of its own: most have a recorded video as the main part,
along with text and reading material, and in most cases that reading material is important.

The course doesn't include too much code. The intent is to give you an understanding of the limits
and capabilities of WebRTC, so you know how to wield it effectively in your product.

- A run starts on a set date and lasts **2 months**; the office-hours tier lasts **4 months**.
- The course is self-paced: leave for a week or two and pick up exactly where you stopped.
- An online forum for questions, issues and feedback.
- Office hours twice a week, at different times for different time zones (office-hours tier).
""",
}

FAQ = [
    ("Is this a one-time thing?", "Each run starts on a set date. You learn at your own pace inside your access "
     "window: 2 months, or 4 months with office hours."),
    ("Is the course for me?", "Developers who need to start using WebRTC, product managers who want the language "
     "to talk with their developers, teams who work with WebRTC, and testers who want to design better test plans."),
    ("How is the course conducted?", "You receive an email a day or two before the course starts. Log in, and "
     "every section and lesson is there. Most lessons have a recorded video, text and reading material."),
    ("Does it include code?", "Only the occasional snippet. The course is about architecture, not an API tutorial."),
]  # fmt: skip


def _lesson(slug, title, body, reading=(), **extra):
    return {"slug": slug, "title": title, "body": body, "reading": list(reading), **extra}


SECTIONS = [
    {
        "title": "The basics of WebRTC",
        "summary": "What WebRTC is, a review of its APIs and call flows, and general knowledge, so you can read "
        "what is out there about WebRTC more critically.",
        "lessons": [
            _lesson("what-is-webrtc", "What WebRTC is (and is not)", """\
WebRTC is a set of browser APIs and protocols for real-time media and data between peers.
It is **not** a service, a signaling protocol or a product.

In this lesson:

1. Where WebRTC came from
2. What the browser gives you, and what it leaves to you
3. Why it matters for your product
""", [("WebRTC for the curious", "https://webrtcforthecurious.com/", "A free book; chapter 1 for now."),
      ("webrtc.org", "https://webrtc.org/", "The project's home.")], preview=True),
            _lesson("webrtc-apis", "A review of the WebRTC APIs", """\
The three objects you meet first: `getUserMedia`, `RTCPeerConnection` and `RTCDataChannel`.

```javascript
const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
const pc = new RTCPeerConnection({iceServers: [{urls: "stun:stun.example.org"}]});
stream.getTracks().forEach(track => pc.addTrack(track, stream));
```
""", [("MDN: WebRTC API", "https://developer.mozilla.org/en-US/docs/Web/API/WebRTC_API", "Reference pages.")]),
            _lesson("call-flows", "Call flows", """\
Offer, answer and ICE candidates: the order of events in a simple one-to-one call, and where it goes wrong.
"""),
            _lesson("webrtc-in-the-industry", "Where WebRTC is used", """\
From video conferencing to contact centers, telehealth, live streaming and IoT.
""", video=False, minutes=10),
        ],
    },
    {
        "title": "Networking basics",
        "summary": "TCP and UDP, what WebSockets really is, and the NAT traversal challenge with the solutions "
        "WebRTC uses for it. Useful for VoIP developers and web developers alike.",
        "lessons": [
            _lesson("tcp-and-udp", "TCP and UDP", "Why real-time media prefers UDP, and when it falls back to TCP."),
            _lesson("websockets", "What WebSockets really is", "An upgrade of an HTTP connection, and its costs."),
            _lesson("nat-traversal", "The NAT traversal challenge", "Why two browsers can't simply connect.",
                    [("RFC 8445: ICE", "https://www.rfc-editor.org/rfc/rfc8445", "Sections 1 and 2.")]),
            _lesson("stun-turn-ice", "STUN, TURN and ICE", """\
How candidates are gathered and paired, and why you need a TURN server in production.
""", [("RFC 8656: TURN", "https://www.rfc-editor.org/rfc/rfc8656", "Skim the overview.")]),
        ],
    },
    {
        "title": "WebRTC signaling",
        "summary": "The signaling alternatives, transport protocols for them, a lesson on SDP, and the security "
        "aspects of WebRTC, with some light on the fear, uncertainty and doubt around it.",
        "lessons": [
            _lesson("signaling-alternatives", "Signaling alternatives", "SIP, XMPP, MQTT or your own protocol."),
            _lesson("signaling-transports", "Transports for signaling", "HTTP, WebSockets, and the data channel."),
            _lesson("sdp", "SDP, line by line", """\
A session description, read line by line:

```
v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
m=audio 9 UDP/TLS/RTP/SAVPF 111
a=rtpmap:111 opus/48000/2
```
""", [("RFC 8866: SDP", "https://www.rfc-editor.org/rfc/rfc8866", "Section 5.")]),
            _lesson("security", "WebRTC security and FUD", "Mandatory encryption, permissions, and the IP leak story."),
        ],
    },
    {
        "title": "Codecs",
        "summary": "Voice and video codecs, focusing on what you need to know about them in the context of WebRTC, "
        "so you can decide on the codecs for your own scenarios.",
        "lessons": [
            _lesson("voice-codecs", "Voice codecs", "Opus and G.711, and why Opus won."),
            _lesson("video-codecs", "Video codecs", "VP8, VP9, H.264, AV1 and what hardware support means."),
            _lesson("choosing-codecs", "Choosing codecs for your scenario", "A decision checklist.", video=False),
        ],
    },
    {
        "title": "Media processing",
        "summary": "How RTP and RTCP work, and the architectures and processes you may need in your back end: "
        "mixing, routing and recording.",
        "lessons": [
            _lesson("rtp-rtcp", "RTP and RTCP", "Packets, timestamps, sequence numbers and feedback."),
            _lesson("mesh-mcu-sfu", "Mesh, MCU and SFU", "Three ways to run a group call, and their costs."),
            _lesson("simulcast-svc", "Simulcast and SVC", "Sending layers, so every receiver gets what it can take."),
            _lesson("recording", "Recording", "Client-side, server-side, and the trade-offs.", coming_soon=True),
        ],
    },
    {
        "title": "3rd party frameworks and services",
        "summary": "The products and open source frameworks that are out there, which fits which use case, and how "
        "to match your company's DNA and requirements to the alternatives.",
        "lessons": [
            _lesson("open-source-media-servers", "Open source media servers", "Janus, Jitsi, mediasoup and friends."),
            _lesson("cpaas", "Communication platforms as a service", "When to buy instead of build."),
            _lesson("choosing-a-framework", "Choosing a framework", "Match the route to your team's DNA.", video=False),
        ],
    },
    {
        "title": "Common WebRTC design patterns",
        "summary": "Specific scenarios and challenges, broken down into requirements and mapped to architectural "
        "alternatives, so that you can do the same on your own products.",
        "lessons": [
            _lesson("one-to-one-calling", "One-to-one calling", "The simplest architecture, done right."),
            _lesson("group-video", "Group video calls", "From four people to forty."),
            _lesson("live-broadcast", "Live broadcast", "Low latency streaming to thousands of viewers."),
            _lesson("contact-center", "Contact center", "Connecting WebRTC to the phone network."),
        ],
    },
]
