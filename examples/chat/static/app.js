// The chat page. Everything users type is rendered with textContent, never
// as HTML.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const options = {};
  if (params.get("transports")) {
    options.transports = params.get("transports").split(",");
  }
  // With -webtransport, the server's WebTransport port and the hashes of
  // its self-signed certificates (config.js).
  const wt = (window.chatConfig || {}).webtransport;
  if (wt) {
    options.transportOptions = {
      webtransport: {
        port: wt.port,
        ...(wt.hostname ? { hostname: wt.hostname } : {}),
        serverCertificateHashes: wt.hashes.map((h) => ({ algorithm: "sha-256", value: new Uint8Array(h) })),
      },
    };
    // WebTransport first, falling back to long-polling and WebSocket where
    // the browser has no WebTransport or cannot reach the UDP port. (With
    // the default order the client probes WebTransport and, 200 ms later,
    // WebSocket, and keeps the first that answers: on a busy machine that
    // can be WebSocket.)
    if (!options.transports) {
      options.transports = ["webtransport", "polling", "websocket"];
      options.tryAllTransports = true;
    }
  }
  const socket = io(options);
  window.chatSocket = socket; // for tests and the curious

  let currentRoom = "";
  // A reload starts a new session, as a guest in the lobby: the client
  // keeps its recovery state in memory only. The tab keeps the nickname and
  // room it chose here and asks for them again (see "session").
  const saved = {
    get(key) {
      try { return sessionStorage.getItem(key) || ""; } catch { return ""; }
    },
    set(key, value) {
      try { sessionStorage.setItem(key, value); } catch { /* storage disabled: nothing kept */ }
    },
  };
  let typingTimer = null;
  const typers = new Map();

  function setState(state, text) {
    const el = $("state");
    el.className = "pill state-" + state;
    el.dataset.state = state;
    el.textContent = text || state;
  }

  function showTransport() {
    const name = socket.io.engine ? socket.io.engine.transport.name : "—";
    $("transport").textContent = name;
    $("transport").dataset.transport = name;
  }

  function showError(text) {
    $("error").textContent = text || "";
  }

  function addLine(kind, who, text) {
    const li = document.createElement("li");
    li.className = kind;
    if (who) {
      const w = document.createElement("span");
      w.className = "who";
      w.textContent = who;
      li.appendChild(w);
    }
    const t = document.createElement("span");
    t.className = "text";
    t.textContent = text;
    li.appendChild(t);
    const list = $("messages");
    list.appendChild(li);
    while (list.children.length > 200) list.removeChild(list.firstChild);
    list.scrollTop = list.scrollHeight;
  }

  function renderRooms(rooms) {
    const ul = $("rooms");
    ul.textContent = "";
    for (const r of rooms) {
      const li = document.createElement("li");
      li.dataset.room = r.name;
      if (r.name === currentRoom) li.classList.add("current");
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = r.name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = r.members + (r.members === 1 ? " member" : " members");
      li.append(name, count);
      li.addEventListener("click", () => join(r.name));
      ul.appendChild(li);
    }
  }

  function setRoom(room) {
    currentRoom = room;
    $("current-room").textContent = room;
    for (const li of $("rooms").children) {
      li.classList.toggle("current", li.dataset.room === room);
    }
  }

  function join(room) {
    socket.emit("join", room, (res) => {
      if (!res.ok) return showError(res.error);
      showError("");
      setRoom(res.room);
      saved.set("room", res.room);
      addLine("notice", "", "You joined " + res.room);
    });
  }

  function changeNickname(name) {
    socket.emit("nickname", name, (res) => {
      if (!res.ok) return showError(res.error);
      showError("");
      $("nick").value = res.nickname;
      saved.set("nickname", res.nickname);
    });
  }

  // Connection state and transport.
  socket.on("connect", () => {
    setState("connected", socket.recovered ? "connected (recovered)" : "connected");
    showTransport();
    socket.io.engine.once("upgrade", showTransport);
  });
  socket.on("disconnect", (reason) => {
    setState("disconnected", "disconnected: " + reason);
    $("transport").textContent = "—";
  });
  socket.on("connect_error", (err) => {
    setState("disconnected", "connection error: " + err.message);
  });
  socket.io.on("reconnect_attempt", (n) => setState("reconnecting", "reconnecting (attempt " + n + ")…"));
  socket.io.on("reconnect_failed", () => setState("disconnected", "could not reconnect"));

  // Server pushes.
  socket.on("welcome", (data) => {
    $("welcome").textContent = data.description;
  });
  // Sent on every connection: who the server thinks we are. A new session
  // (a reload, a restarted server) has forgotten the nickname and room the
  // tab chose, so ask for them again (two changes; the server allows four
  // at once).
  socket.on("session", (s) => {
    $("nick").value = s.nickname;
    setRoom(s.room);
    const nickname = saved.get("nickname");
    const room = saved.get("room");
    if (nickname && nickname !== s.nickname) changeNickname(nickname);
    if (room && room !== s.room) join(room);
  });
  socket.on("rooms", renderRooms);
  // Sent on entering a room: its recent messages, which replace the list.
  socket.on("history", (h) => {
    $("messages").textContent = "";
    for (const m of h.messages) addLine("message", m.nickname, m.text);
    if (h.messages.length > 0) addLine("notice", "", "— earlier messages above —");
  });
  socket.on("message", (m) => addLine("message", m.nickname, m.text));
  socket.on("announcement", (m) => addLine("announcement", m.nickname, m.text));
  socket.on("notice", (n) => {
    if (n.room === currentRoom) addLine("notice", "", n.text);
  });
  socket.on("typing", (t) => {
    clearTimeout(typers.get(t.nickname));
    if (t.typing) {
      typers.set(t.nickname, setTimeout(() => { typers.delete(t.nickname); showTypers(); }, 3000));
    } else {
      typers.delete(t.nickname);
    }
    showTypers();
  });
  function showTypers() {
    const names = [...typers.keys()];
    $("typing").textContent = names.length === 0 ? "" :
      names.join(", ") + (names.length === 1 ? " is typing…" : " are typing…");
  }

  // Forms.
  $("nick-form").addEventListener("submit", (e) => {
    e.preventDefault();
    changeNickname($("nick").value);
  });
  $("room-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const room = $("room").value;
    if (!room.trim()) return;
    $("room").value = "";
    join(room);
  });
  $("msg-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("msg").value;
    if (!text.trim()) return;
    socket.timeout(5000).emit("message", text, (err, res) => {
      if (err) return showError("The server did not answer; your message may be lost.");
      if (!res.ok) return showError(res.error);
      showError("");
      $("msg").value = "";
    });
    stopTyping();
  });
  $("announce").addEventListener("click", () => {
    const text = $("msg").value;
    if (!text.trim()) return;
    socket.emit("announce", text, (res) => {
      if (!res.ok) return showError(res.error);
      showError("");
      $("msg").value = "";
    });
  });
  $("msg").addEventListener("input", () => {
    if (!typingTimer) socket.emit("typing", true);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 1500);
  });
  function stopTyping() {
    if (typingTimer) {
      clearTimeout(typingTimer);
      typingTimer = null;
      socket.emit("typing", false);
    }
  }
})();
