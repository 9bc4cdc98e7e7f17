// dicebard's phone table: ONE client for the three pages (player /play, TV /tv, GM /gm).
// The page's <body data-mode> picks the mode; everything else is shared: the session
// (cookie), the REST calls, the WebSocket with replay from the last cursor, the story
// feed and the scene. The protocol is docs/web-protocol.md (version 1).
//
// Rules: no inline script or style (CSP default-src 'self'); every text from the server
// or a player is put in the page with textContent, never innerHTML.
'use strict';

(() => {
  const MODE = document.body.dataset.mode || 'play';
  const API = '/api/v1';
  const MAX_FEED = 400; // items kept in a feed list (older ones are dropped from the DOM)

  // SRD 5.1 classes and races: what /character create offers.
  const CLASSES = ['Barbarian', 'Bard', 'Cleric', 'Druid', 'Fighter', 'Monk', 'Paladin',
    'Ranger', 'Rogue', 'Sorcerer', 'Warlock', 'Wizard'];
  const RACES = ['Dragonborn', 'Dwarf', 'Elf', 'Gnome', 'Half-Elf', 'Half-Orc', 'Halfling',
    'Human', 'Tiefling'];

  // SRD 5.1 monster names, for the GM's fight autocomplete (assets/srd/srd-5.1.json).
  const MONSTERS = ["Aboleth", "Acolyte", "Adult Black Dragon", "Adult Blue Dragon", "Adult Brass Dragon", "Adult Bronze Dragon", "Adult Copper Dragon", "Adult Gold Dragon", "Adult Green Dragon", "Adult Red Dragon", "Adult Silver Dragon", "Adult White Dragon", "Air Elemental", "Ancient Black Dragon", "Ancient Blue Dragon", "Ancient Brass Dragon", "Ancient Bronze Dragon", "Ancient Copper Dragon", "Ancient Gold Dragon", "Ancient Green Dragon", "Ancient Red Dragon", "Ancient Silver Dragon", "Ancient White Dragon", "Androsphinx", "Animated Armor", "Ankheg", "Ape", "Archmage", "Assassin", "Awakened Shrub", "Awakened Tree", "Axe Beak", "Azer", "Baboon", "Badger", "Balor", "Bandit", "Bandit Captain", "Barbed Devil", "Basilisk", "Bat", "Bearded Devil", "Behir", "Berserker", "Black Bear", "Black Dragon Wyrmling", "Black Pudding", "Blink Dog", "Blood Hawk", "Blue Dragon Wyrmling", "Boar", "Bone Devil", "Brass Dragon Wyrmling", "Bronze Dragon Wyrmling", "Brown Bear", "Bugbear", "Bulette", "Camel", "Cat", "Centaur", "Chain Devil", "Chimera", "Chuul", "Clay Golem", "Cloaker", "Cloud Giant", "Cockatrice", "Commoner", "Constrictor Snake", "Copper Dragon Wyrmling", "Couatl", "Crab", "Crocodile", "Cult Fanatic", "Cultist", "Darkmantle", "Death Dog", "Deep Gnome (Svirfneblin)", "Deer", "Deva", "Dire Wolf", "Djinni", "Doppelganger", "Draft Horse", "Dragon Turtle", "Dretch", "Drider", "Drow", "Druid", "Dryad", "Duergar", "Dust Mephit", "Eagle", "Earth Elemental", "Efreeti", "Elephant", "Elk", "Erinyes", "Ettercap", "Ettin", "Fire Elemental", "Fire Giant", "Flesh Golem", "Flying Snake", "Flying Sword", "Frog", "Frost Giant", "Gargoyle", "Gelatinous Cube", "Ghast", "Ghost", "Ghoul", "Giant Ape", "Giant Badger", "Giant Bat", "Giant Boar", "Giant Centipede", "Giant Constrictor Snake", "Giant Crab", "Giant Crocodile", "Giant Eagle", "Giant Elk", "Giant Fire Beetle", "Giant Frog", "Giant Goat", "Giant Hyena", "Giant Lizard", "Giant Octopus", "Giant Owl", "Giant Poisonous Snake", "Giant Rat", "Giant Rat (Diseased)", "Giant Scorpion", "Giant Sea Horse", "Giant Shark", "Giant Spider", "Giant Toad", "Giant Vulture", "Giant Wasp", "Giant Weasel", "Giant Wolf Spider", "Gibbering Mouther", "Glabrezu", "Gladiator", "Gnoll", "Goat", "Goblin", "Gold Dragon Wyrmling", "Gorgon", "Gray Ooze", "Green Dragon Wyrmling", "Green Hag", "Grick", "Griffon", "Grimlock", "Guard", "Guardian Naga", "Gynosphinx", "Half-Red Dragon Veteran", "Harpy", "Hawk", "Hell Hound", "Hezrou", "Hill Giant", "Hippogriff", "Hobgoblin", "Homunculus", "Horned Devil", "Hunter Shark", "Hydra", "Hyena", "Ice Devil", "Ice Mephit", "Imp", "Invisible Stalker", "Iron Golem", "Jackal", "Killer Whale", "Knight", "Kobold", "Kraken", "Lamia", "Lemure", "Lich", "Lion", "Lizard", "Lizardfolk", "Mage", "Magma Mephit", "Magmin", "Mammoth", "Manticore", "Marilith", "Mastiff", "Medusa", "Merfolk", "Merrow", "Mimic", "Minotaur", "Minotaur Skeleton", "Mule", "Mummy", "Mummy Lord", "Nalfeshnee", "Night Hag", "Nightmare", "Noble", "Ochre Jelly", "Octopus", "Ogre", "Ogre Zombie", "Oni", "Orc", "Otyugh", "Owl", "Owlbear", "Panther", "Pegasus", "Phase Spider", "Pit Fiend", "Planetar", "Plesiosaurus", "Poisonous Snake", "Polar Bear", "Pony", "Priest", "Pseudodragon", "Purple Worm", "Quasit", "Quipper", "Rakshasa", "Rat", "Raven", "Red Dragon Wyrmling", "Reef Shark", "Remorhaz", "Rhinoceros", "Riding Horse", "Roc", "Roper", "Rug of Smothering", "Rust Monster", "Saber-Toothed Tiger", "Sahuagin", "Salamander", "Satyr", "Scorpion", "Scout", "Sea Hag", "Sea Horse", "Shadow", "Shambling Mound", "Shield Guardian", "Shrieker", "Silver Dragon Wyrmling", "Skeleton", "Solar", "Specter", "Spider", "Spirit Naga", "Sprite", "Spy", "Steam Mephit", "Stirge", "Stone Giant", "Stone Golem", "Storm Giant", "Succubus/Incubus", "Swarm of Bats", "Swarm of Beetles", "Swarm of Centipedes", "Swarm of Insects", "Swarm of Poisonous Snakes", "Swarm of Quippers", "Swarm of Rats", "Swarm of Ravens", "Swarm of Spiders", "Swarm of Wasps", "Tarrasque", "Thug", "Tiger", "Treant", "Tribal Warrior", "Triceratops", "Troll", "Tyrannosaurus Rex", "Unicorn", "Vampire, Bat Form", "Vampire, Mist Form", "Vampire Spawn", "Vampire, Vampire Form", "Veteran", "Violet Fungus", "Vrock", "Vulture", "Warhorse", "Warhorse Skeleton", "Water Elemental", "Weasel", "Werebear, Bear Form", "Werebear, Human Form", "Werebear, Hybrid Form", "Wereboar, Boar Form", "Wereboar, Human Form", "Wereboar, Hybrid Form", "Wererat, Human Form", "Wererat, Hybrid Form", "Wererat, Rat Form", "Weretiger, Human Form", "Weretiger, Hybrid Form", "Weretiger, Tiger Form", "Werewolf, Human Form", "Werewolf, Hybrid Form", "Werewolf, Wolf Form", "White Dragon Wyrmling", "Wight", "Will-o'-Wisp", "Winter Wolf", "Wolf", "Worg", "Wraith", "Wyvern", "Xorn", "Young Black Dragon", "Young Blue Dragon", "Young Brass Dragon", "Young Bronze Dragon", "Young Copper Dragon", "Young Gold Dragon", "Young Green Dragon", "Young Red Dragon", "Young Silver Dragon", "Young White Dragon", "Zombie"];

  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node && node.firstChild) node.removeChild(node.firstChild); }
  function setText(id, text) { const e = $(id); if (e) e.textContent = text == null ? '' : String(text); }
  function num(v, lo, hi, dflt) {
    const n = Number(v);
    if (!Number.isFinite(n)) return dflt;
    return Math.min(hi, Math.max(lo, Math.trunc(n)));
  }
  function str(v, max) {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return s.length > (max || 2000) ? s.slice(0, max || 2000) + '…' : s;
  }
  function snake(k) { return String(k || '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase(); }
  function cmpCursor(a, b) {
    if (!a) return b ? -1 : 0;
    if (!b) return 1;
    return a.seq !== b.seq ? (a.seq < b.seq ? -1 : 1) : (a.part === b.part ? 0 : (a.part < b.part ? -1 : 1));
  }

  // ---- state -------------------------------------------------------------------------
  const S = {
    me: null, // GET /me
    snap: null, // the scene (GET /snapshot or the socket's snapshot)
    sheet: null, // the player's creature (GET /sheet)
    last: null, // cursor of the last feed item shown
    ws: null,
    tries: 0,
    reconnectTimer: null,
    online: [],
    prose: null, // {li, priv} the narration being streamed
    proseText: '',
    recentLines: [], // texts of recent lines (skip built-in prose that repeats them)
    refreshTimer: null,
    gone: false, // kicked: stop reconnecting
  };

  // ---- REST --------------------------------------------------------------------------
  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(API + path, opts);
    } catch (e) {
      return { status: 0, body: null, error: 'The table cannot be reached (connection lost).' };
    }
    let json = null;
    try { json = await res.json(); } catch (e) { json = null; }
    let error = null;
    if (!res.ok) {
      error = (json && json.error && json.error.message) || ('The server answered ' + res.status + '.');
    }
    return { status: res.status, body: json, error };
  }

  // An action's answer → {state: 'done'|'refused', reason}
  function outcome(r) {
    if (r.error) return { state: 'refused', reason: r.error };
    const b = r.body || {};
    if (b.ok) return { state: 'done', reason: '' };
    const reason = (b.refused && b.refused.reason) || 'Refused.';
    return { state: 'refused', reason: str(reason, 500) };
  }

  // ---- connection indicator ----------------------------------------------------------
  function setConn(state, text) {
    const c = $('conn');
    if (!c) return;
    c.dataset.state = state;
    c.textContent = text;
  }

  // ---- WebSocket with replay ---------------------------------------------------------
  function connect() {
    if (S.gone) return;
    clearTimeout(S.reconnectTimer);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(proto + '//' + location.host + API + '/ws');
    } catch (e) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    setConn('connecting', S.tries ? 'Reconnecting…' : 'Connecting…');
    ws.addEventListener('open', () => {
      ws.send(JSON.stringify({ type: 'hello', v: 1, last: S.last }));
    });
    ws.addEventListener('message', (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg && typeof msg === 'object') onMessage(msg);
    });
    ws.addEventListener('close', () => {
      if (S.ws !== ws) return;
      S.ws = null;
      if (S.gone) return;
      scheduleReconnect();
    });
    ws.addEventListener('error', () => { /* close follows */ });
  }

  function scheduleReconnect() {
    S.tries += 1;
    const delay = Math.min(10000, 1000 * Math.pow(2, Math.min(S.tries - 1, 4)));
    const secs = Math.round(delay / 1000);
    setConn('down', 'Offline — retrying in ' + secs + ' s');
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = setTimeout(connect, delay);
  }

  // Come back at once when the phone wakes up or the network returns.
  function wakeUp() {
    if (!S.gone && !S.ws && document.visibilityState === 'visible') connect();
  }
  document.addEventListener('visibilitychange', wakeUp);
  window.addEventListener('online', wakeUp);

  function onMessage(msg) {
    switch (msg.type) {
      case 'welcome':
        S.tries = 0;
        setConn('live', 'Live');
        if (msg.campaign && msg.campaign.name) setCampaignName(msg.campaign.name);
        break;
      case 'snapshot':
        if (msg.cursor && S.last && cmpCursor(msg.cursor, S.last) > 0) {
          addFeed('(Part of the story went by while this page was away.)', 'line', 'public');
        }
        if (msg.cursor && (!S.last || cmpCursor(msg.cursor, S.last) > 0)) S.last = cursorOf(msg.cursor);
        if (msg.data) { S.snap = msg.data; renderScene(); }
        scheduleRefresh(false);
        break;
      case 'event': case 'line': case 'narration.start': case 'narration.chunk':
      case 'narration.end': case 'notice':
        onItem(msg);
        break;
      case 'presence':
        if (msg.event === 'here_more' && Array.isArray(msg.online)) {
          // A big table's `here` comes in pages: the rest are appended.
          S.online = S.online.concat(msg.online);
        } else if (Array.isArray(msg.online)) {
          S.online = msg.online;
        } else if (msg.who) {
          // A big table: `who` is a diff to the list `here` gave (protocol, presence).
          const same = (o) => o.role === msg.who.role && o.player === msg.who.player &&
            (o.via || 'web') === (msg.who.via || 'web');
          S.online = S.online.filter((o) => !same(o));
          if (msg.who.connections > 0) S.online.push(msg.who);
        }
        renderPresence();
        break;
      case 'pong':
        break;
      case 'error':
        if (msg.code === 'kicked') {
          S.gone = true;
          setConn('down', 'Removed');
          ['action-bar', 'turn-banner', 'private-badge'].forEach((id) => { const e = $(id); if (e) e.hidden = true; });
          const main = $('main') || document.querySelector('main');
          if (main && !$('kicked')) {
            const p = el('p', 'panel kicked', 'The GM removed you from this table. Ask them for a new link to come back.');
            p.id = 'kicked';
            p.setAttribute('role', 'alert');
            main.insertBefore(p, main.firstChild);
            p.scrollIntoView({ block: 'start' });
          }
        } else if (msg.code === 'unsupported_version') {
          S.gone = true;
          setConn('down', 'This page is out of date: reload it');
        }
        break;
      default:
        break;
    }
  }

  function cursorOf(c) {
    return { seq: num(c.seq, 0, Number.MAX_SAFE_INTEGER, 0), part: num(c.part, 0, 1e9, 0) };
  }

  // ---- the story feed ----------------------------------------------------------------
  function onItem(msg) {
    const cur = cursorOf(msg);
    if (S.last && cmpCursor(cur, S.last) <= 0) return; // already shown
    S.last = cur;
    const data = msg.data || {};
    const vis = str(data.visibility, 100);
    switch (msg.type) {
      case 'event':
        onEvent(data);
        break;
      case 'line': {
        const text = str(data.text);
        S.recentLines.push(text);
        if (S.recentLines.length > 60) S.recentLines.shift();
        addFeed(text, 'line', vis, cur);
        break;
      }
      case 'narration.start':
        S.prose = null;
        S.proseText = '';
        break;
      case 'narration.chunk': {
        const text = str(data.text);
        if (!text) break;
        if (data.source === 'builtin' && S.recentLines.indexOf(text) >= 0) break;
        const priv = isPrivate(vis);
        if (!S.prose || S.prose.priv !== priv || S.prose.vis !== vis) {
          const li = addFeed(text, 'prose streaming', vis, cur);
          S.prose = { li, priv, vis };
        } else {
          S.prose.li.textContent += ' ' + text;
          scrollFeed(S.prose.li.parentNode);
        }
        showNarration(S.prose.li.textContent, vis);
        break;
      }
      case 'narration.end':
        document.querySelectorAll('li.streaming').forEach((li) => li.classList.remove('streaming'));
        S.prose = null;
        break;
      case 'notice':
        addFeed(str(data.text), 'notice', 'gm', cur);
        break;
      default:
        break;
    }
  }

  function isPrivate(vis) { return vis.indexOf('player') === 0; }

  // Puts one item in the right list: a player's own items in "Just for you".
  function addFeed(text, cls, vis, cur) {
    let list = $('feed');
    let c = cls;
    if (isPrivate(vis) && MODE === 'play' && $('private')) {
      list = $('private');
      const empty = $('private-empty');
      if (empty) empty.hidden = true;
      const badge = $('private-badge');
      if (badge && !S.backfilling) badge.hidden = false;
    }
    if (vis === 'gm') c += ' gm-only';
    if (isPrivate(vis) && MODE === 'gm') c += ' to-player';
    if (!list) return null;
    const li = el('li', c, text);
    if (cur) li.dataset.cursor = cur.seq + '.' + cur.part;
    list.appendChild(li);
    while (list.children.length > MAX_FEED) list.removeChild(list.firstChild);
    scrollFeed(list);
    if (MODE === 'tv' && cls === 'line') showNarration(text, vis);
    return li;
  }

  // Auto-scroll: keep the newest item in view unless the reader scrolled up. A list that
  // scrolls by itself (GM, TV) scrolls inside; the phone's story scrolls the page.
  function scrollFeed(list) {
    const last = list && list.lastElementChild;
    if (!last) return;
    if (getComputedStyle(list).overflowY === 'auto') {
      const near = list.scrollHeight - (list.scrollTop + list.clientHeight) < 300;
      if (near) list.scrollTop = list.scrollHeight;
      return;
    }
    if (MODE !== 'play') return;
    // Never move the page under a player who is filling in the character form.
    const create = $('create-section');
    if (create && !create.hidden) return;
    const doc = document.scrollingElement || document.documentElement;
    const nearBottom = doc.scrollHeight - (doc.scrollTop + window.innerHeight) < 500;
    if (nearBottom) last.scrollIntoView({ block: 'end' });
  }

  // The TV's big "what just happened".
  function showNarration(text, vis) {
    const n = $('narration');
    if (!n || (vis && vis !== 'public')) return;
    n.textContent = text;
  }

  function onEvent(data) {
    const kind = snake(data.kind || (data.event && data.event.type));
    if (kind === 'character_created' || kind === 'player_joined' || kind === 'character_retired') {
      scheduleRefresh(true);
    } else {
      scheduleRefresh(false);
    }
    if (kind === 'campaign_ended') setConn('down', 'The campaign has ended');
  }

  // The scene and the sheet are read again after events (one request per burst).
  function scheduleRefresh(withMe) {
    S.refreshMe = S.refreshMe || withMe;
    clearTimeout(S.refreshTimer);
    S.refreshTimer = setTimeout(refresh, 150);
  }

  async function refresh() {
    const withMe = S.refreshMe;
    S.refreshMe = false;
    if (withMe || !S.me) await loadMe();
    const snap = await api('GET', '/snapshot');
    if (snap.status === 200 && snap.body) S.snap = snap.body;
    if (MODE === 'play' && S.me && S.me.character) {
      const sh = await api('GET', '/sheet');
      if (sh.status === 200 && sh.body && sh.body.character) S.sheet = sh.body.character;
    }
    renderScene();
  }

  async function loadMe() {
    const r = await api('GET', '/me');
    if (r.status === 401) {
      S.gone = true;
      setConn('down', 'Not joined: open the link the GM gave you');
      return;
    }
    if (r.status === 200 && r.body) {
      S.me = r.body;
      if (S.me.campaign && S.me.campaign.name) setCampaignName(S.me.campaign.name);
    }
  }

  function setCampaignName(name) {
    setText('campaign-name', (MODE === 'gm' ? 'GM · ' : '') + str(name, 80));
  }

  // Earlier story, so a fresh page is not empty; then the socket resumes after it.
  async function backfill() {
    S.backfilling = true;
    try { await backfillPages(); } finally { S.backfilling = false; }
  }

  async function backfillPages() {
    let after = '0.0';
    for (let page = 0; page < 10; page++) {
      const r = await api('GET', '/events?after=' + after + '&limit=1000');
      if (r.status !== 200 || !r.body) return;
      const items = Array.isArray(r.body.items) ? r.body.items : [];
      items.forEach((m) => { if (m && typeof m === 'object') onItem(m); });
      // Streaming marks only apply to live narration.
      document.querySelectorAll('li.streaming').forEach((li) => li.classList.remove('streaming'));
      S.prose = null;
      if (r.body.cursor) {
        const c = cursorOf(r.body.cursor);
        if (!S.last || cmpCursor(c, S.last) > 0) S.last = c;
        after = c.seq + '.' + c.part;
      }
      if (!r.body.more) return;
    }
  }

  // ---- the scene: character card, initiative, turn banner, party ---------------------
  function myPlayer() { return S.me && S.me.player; }

  function renderScene() {
    const snap = S.snap || {};
    // For measurements: milliseconds from navigation to the first scene on screen.
    if (S.snap && window.dicebardFirstScene === undefined) window.dicebardFirstScene = Math.round(performance.now());
    if (snap.campaign && snap.campaign.name) setCampaignName(snap.campaign.name);
    renderInitiative(snap.combat);
    if (MODE === 'play') renderPlayer(snap);
    if (MODE === 'tv') renderParty(snap);
    if (MODE === 'gm') renderGmScene(snap);
    renderTurn();
  }

  function healthWord(c) {
    if (c.pc && c.hp !== null && c.hp !== undefined) {
      return num(c.hp, -9999, 99999, 0) + '/' + num(c.max_hp, 0, 99999, 0) + ' HP';
    }
    return str(c.health || '', 20);
  }

  function renderInitiative(combat) {
    const sec = $('combat-section');
    const list = $('initiative');
    if (!list) return;
    if (sec) sec.hidden = !combat;
    clear(list);
    if (!combat) return;
    setText('round', '— round ' + num(combat.round, 1, 1e6, 1));
    const turnId = combat.turn ? combat.turn.id : null;
    (Array.isArray(combat.initiative) ? combat.initiative : []).forEach((c) => {
      const li = el('li');
      if (c.id === turnId && turnId !== null) {
        li.classList.add('active');
        li.setAttribute('aria-current', 'true');
      }
      const h = str(c.health, 20);
      if (h === 'down' || h === 'dead') li.classList.add('down');
      li.appendChild(el('span', 'init', num(c.initiative, -99, 999, 0)));
      // A conjured creature fights for its caster.
      const ally = typeof c.ally_of === 'string' ? ' (' + str(c.ally_of, 80) + "'s)" : '';
      li.appendChild(el('span', 'name', str(c.name, 80) + ally));
      li.appendChild(el('span', 'hp', healthWord(c)));
      list.appendChild(li);
    });
  }

  function renderTurn() {
    const combat = S.snap && S.snap.combat;
    const turn = combat && combat.turn;
    const mine = !!(turn && myPlayer() && turn.player === myPlayer() && MODE === 'play' && !S.gone);
    const banner = $('turn-banner');
    if (banner) {
      const was = !banner.hidden;
      banner.hidden = !mine;
      if (mine && !was && navigator.vibrate) { try { navigator.vibrate(200); } catch (e) { /* */ } }
    }
    const now = $('turn-now');
    if (now) now.textContent = turn ? str(turn.name, 80) + "'s turn" : (combat ? 'Round ' + num(combat.round, 1, 1e6, 1) : '');
    // A reaction window for my character: Shield / Skip until its deadline.
    const r = combat && combat.reaction;
    const row = $('react-row');
    if (row) row.hidden = !(r && myPlayer() && r.player === myPlayer() && MODE === 'play' && !S.gone);
    if (r && $('react-use')) {
      const dodge = r.reaction === 'Uncanny Dodge';
      const counter = r.reaction === 'Counterspell';
      $('react-use').textContent = counter ? 'Counterspell' : (dodge ? 'Uncanny Dodge' : 'Shield');
      const what = $('react-what');
      if (what) what.textContent = counter
        ? str(r.caster || 'A foe', 80) + ' is casting ' + str(r.spell || 'a spell', 80) + ': stop it with Counterspell?'
        : (dodge ? 'A blow is about to land: halve its damage with Uncanny Dodge?' : 'A blow is about to land: cast Shield?');
    }
    tickClock();
  }

  function tickClock() {
    const combat = S.snap && S.snap.combat;
    const left = $('turn-left');
    if (!left) return;
    const dl = combat && combat.deadline;
    if (!dl) { left.textContent = ''; return; }
    const ms = num(dl, 0, 1e15, 0) - Date.now();
    const s = Math.max(0, Math.ceil(ms / 1000));
    left.textContent = '— ' + Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0') + ' left';
  }
  setInterval(tickClock, 1000);

  function renderPlayer(snap) {
    const me = S.me || {};
    const hasChar = !!me.character;
    const create = $('create-section');
    if (create) create.hidden = hasChar || !S.me || me.role !== 'player';
    const bar = $('action-bar');
    if (bar) bar.hidden = !hasChar || S.gone;
    $('card-section').hidden = !hasChar;
    if (!hasChar) return;
    const party = Array.isArray(snap.party) ? snap.party : [];
    const mine = party.find((c) => c.id === me.character.id) || {};
    const sh = S.sheet || {};
    const hp = mine.hp !== undefined ? mine.hp : sh.hp;
    const max = mine.max_hp !== undefined ? mine.max_hp : sh.max_hp;
    setText('card-name', str(mine.name || sh.name || me.character.name, 80));
    const cls = mine.class || (sh.pc && sh.pc.class) || '';
    const race = mine.race || (sh.pc && sh.pc.race) || '';
    setText('card-sub', [race, cls].filter(Boolean).map((s) => str(s, 40)).join(' ') || '');
    const temp = num(mine.temp_hp, 0, 99999, 0);
    setText('card-hp', num(hp, -9999, 99999, 0) + '/' + num(max, 0, 99999, 0) + (temp ? ' +' + temp : ''));
    setText('card-ac', num(mine.ac !== undefined ? mine.ac : sh.armor_class, 0, 99, 0));
    setText('card-level', num(mine.level !== undefined ? mine.level : (sh.pc && sh.pc.level), 0, 20, 1));
    const pct = max > 0 ? Math.max(0, Math.min(100, Math.round((100 * hp) / max))) : 0;
    const bar2 = $('card-hpbar');
    bar2.style.width = pct + '%';
    bar2.parentNode.classList.toggle('low', pct <= 50);
    const conds = Array.isArray(mine.conditions) ? mine.conditions : [];
    setText('card-conds', conds.map((c) => str(c, 30)).join(', '));
    // The engine's class-state lines (beast form, inspiration die, resources, options).
    S.classLines = classLines(mine);
    setText('card-class', S.classLines.filter((l) => /^(Wild Shape|Inspired):/.test(l)).join(' · '));
    renderSheet();
    renderTargets(snap);
  }

  function renderSheet() {
    const box = $('sheet');
    if (!box || box.hidden) return;
    clear(box);
    const c = S.sheet;
    if (!c) { box.appendChild(el('p', 'muted', 'Loading your sheet…')); return; }
    const dl = el('dl');
    const row = (k, v) => { dl.appendChild(el('dt', '', k)); dl.appendChild(el('dd', '', v)); };
    const ab = c.abilities || {};
    const names = ['str', 'dex', 'con', 'int', 'wis', 'cha'];
    const full = { str: 'strength', dex: 'dexterity', con: 'constitution', int: 'intelligence', wis: 'wisdom', cha: 'charisma' };
    const scores = names.map((n) => {
      const v = ab[n] !== undefined ? ab[n] : ab[full[n]];
      if (v === undefined) return null;
      const s = num(v, 1, 30, 10);
      const m = Math.floor((s - 10) / 2);
      return n.toUpperCase() + ' ' + s + ' (' + (m >= 0 ? '+' : '') + m + ')';
    }).filter(Boolean);
    if (scores.length) row('Abilities', scores.join(' · '));
    row('Hit points', num(c.hp, -9999, 99999, 0) + ' / ' + num(c.max_hp, 0, 99999, 0) + (c.temp_hp ? ' (+' + num(c.temp_hp, 0, 9999, 0) + ' temp)' : ''));
    row('Armour class', num(c.armor_class, 0, 99, 0));
    if (c.speed !== undefined) row('Speed', num(c.speed, 0, 999, 30) + ' ft');
    if (c.proficiency_bonus !== undefined) row('Proficiency', '+' + num(c.proficiency_bonus, 0, 9, 2));
    if (c.hit_dice) row('Hit dice', num(c.hit_dice.remaining, 0, 99, 0) + '/' + num(c.hit_dice.total, 0, 99, 0) + ' d' + num(c.hit_dice.die, 0, 20, 0));
    const attacks = Array.isArray(c.attacks) ? c.attacks : [];
    if (attacks.length) {
      row('Attacks', attacks.slice(0, 20).map((a) => {
        const d = (Array.isArray(a.damage) ? a.damage : []).map((p) => str(p.dice, 20) + ' ' + str(p.damage_type, 20)).join(' + ');
        const hit = num(a.to_hit, -99, 99, 0);
        return str(a.name, 60) + ' ' + (hit >= 0 ? '+' : '') + hit + (d ? ' (' + d + ')' : '');
      }).join('; '));
    }
    const sc = c.spellcasting;
    if (sc && Array.isArray(sc.max_slots)) {
      const slots = [];
      for (let i = 0; i < 9; i++) {
        const m = num(sc.max_slots[i], 0, 9, 0);
        if (m > 0) slots.push('L' + (i + 1) + ' ' + Math.max(0, m - num((sc.used_slots || [])[i], 0, 9, 0)) + '/' + m);
      }
      if (slots.length) row('Spell slots', slots.join(' · '));
      if (Array.isArray(sc.spells) && sc.spells.length) row('Spells', sc.spells.slice(0, 60).map((s) => prettyName(s)).join(', '));
    }
    const conds = c.conditions && typeof c.conditions === 'object' ? Object.keys(c.conditions) : [];
    if (conds.length || c.exhaustion) row('Conditions', conds.map((s) => str(s, 30)).concat(c.exhaustion ? ['exhaustion ' + num(c.exhaustion, 0, 6, 0)] : []).join(', '));
    if (c.concentration) row('Concentrating on', prettyName(c.concentration));
    if (c.death_saves && (c.death_saves.successes || c.death_saves.failures)) {
      row('Death saves', num(c.death_saves.successes, 0, 3, 0) + ' ✓ · ' + num(c.death_saves.failures, 0, 3, 0) + ' ✗');
    }
    const cls = Array.isArray(S.classLines) ? S.classLines : [];
    if (cls.length) {
      const dd = el('dd');
      cls.forEach((l, i) => { if (i) dd.appendChild(el('br')); dd.appendChild(document.createTextNode(l)); });
      dl.appendChild(el('dt', '', 'Class features'));
      dl.appendChild(dd);
    }
    const inv = Array.isArray(c.inventory) ? c.inventory : [];
    if (inv.length) row('Inventory', inv.slice(0, 50).map((i) => str(i.name, 60) + (i.quantity > 1 ? ' ×' + num(i.quantity, 0, 9999, 1) : '')).join(', '));
    box.appendChild(dl);
  }

  // A party entry's class-state lines, bounded (strings only, at most 8 of 200 chars).
  function classLines(c) {
    const ls = c && Array.isArray(c.class_lines) ? c.class_lines : [];
    return ls.filter((l) => typeof l === 'string').slice(0, 8).map((l) => str(l, 200));
  }

  function prettyName(index) {
    return str(index, 60).replace(/-/g, ' ');
  }

  // Targets for the quick buttons: the other combatants (or the party out of a fight).
  function renderTargets(snap) {
    const sel = $('target');
    if (!sel) return;
    const keep = sel.value;
    clear(sel);
    const me = S.me && S.me.character ? S.me.character.id : null;
    const combat = snap.combat;
    // The quick buttons are for fights; out of one the free text box is enough (and the
    // small screen keeps room for the story).
    const quick = document.querySelector('.quick');
    if (quick) quick.hidden = !combat;
    if (!combat) $('cast-row').hidden = true;
    let names = [];
    if (combat && Array.isArray(combat.initiative)) {
      const ally = (c) => c.pc || typeof c.ally_of === 'string';
      const foes = combat.initiative.filter((c) => !ally(c) && c.health !== 'dead' && c.id !== me);
      const friends = combat.initiative.filter((c) => ally(c) && c.id !== me);
      names = foes.concat(friends).map((c) => str(c.name, 80));
    } else if (Array.isArray(snap.party)) {
      names = snap.party.filter((c) => c.id !== me).map((c) => str(c.name, 80));
    }
    if (!names.length) {
      const o = el('option', '', 'No target');
      o.value = '';
      sel.appendChild(o);
    }
    names.forEach((n) => { const o = el('option', '', n); o.value = n; sel.appendChild(o); });
    if (names.indexOf(keep) >= 0) sel.value = keep;
    const spells = $('spell');
    if (spells) {
      const k2 = spells.value;
      clear(spells);
      const list = S.sheet && S.sheet.spellcasting && Array.isArray(S.sheet.spellcasting.spells) ? S.sheet.spellcasting.spells : [];
      // My turn: the spells I can cast again with no slot (Moonbeam's beam) come first.
      const turn = combat && combat.turn;
      const again = turn && me !== null && turn.id === me && Array.isArray(turn.again) ? turn.again.slice(0, 10).map((n) => str(n, 60)) : [];
      again.forEach((n) => { const o = el('option', '', n + ' (again, no slot)'); o.value = n; spells.appendChild(o); });
      list.slice(0, 80).forEach((s) => { const o = el('option', '', prettyName(s)); o.value = prettyName(s); spells.appendChild(o); });
      if (k2) spells.value = k2;
      $('q-cast').disabled = list.length === 0 && again.length === 0;
    }
  }

  // ---- the player's actions ----------------------------------------------------------
  function pendingItem(label) {
    const list = $('pending');
    const li = el('li');
    li.dataset.state = 'sending';
    li.appendChild(el('span', 'what', label));
    list.appendChild(li);
    while (list.children.length > 6) list.removeChild(list.firstChild);
    list.scrollTop = list.scrollHeight;
    return li;
  }

  async function act(body, label) {
    const li = pendingItem(label);
    const r = await api('POST', '/actions', body);
    const o = outcome(r);
    li.dataset.state = o.state;
    if (o.reason) li.appendChild(el('span', 'reason', o.reason));
    return o;
  }

  function setupPlayer() {
    CLASSES.forEach((c) => { const o = el('option', '', c); o.value = c.toLowerCase(); $('cc-class').appendChild(o); });
    RACES.forEach((c) => { const o = el('option', '', c); o.value = c.toLowerCase(); $('cc-race').appendChild(o); });
    $('cc-method').addEventListener('change', () => { $('cc-pb').hidden = $('cc-method').value !== 'point_buy'; });
    $('create-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const status = $('cc-status');
      const name = $('cc-name').value.trim();
      status.className = 'form-status';
      if (!name) { status.textContent = 'Give your character a name.'; status.className = 'form-status bad'; $('cc-name').focus(); return; }
      let method = $('cc-method').value;
      if (method === 'point_buy') {
        const ids = ['cc-str', 'cc-dex', 'cc-con', 'cc-int', 'cc-wis', 'cc-cha'];
        const scores = ids.map((id) => num($(id).value, 0, 99, NaN));
        if (scores.some((s) => Number.isNaN(s))) { status.textContent = 'Point buy needs six numbers.'; status.className = 'form-status bad'; return; }
        method = { point_buy: scores };
      }
      const body = { name: name.slice(0, 64), class: $('cc-class').value, race: $('cc-race').value, method, level: num($('cc-level').value, 1, 20, 1) };
      $('cc-submit').disabled = true;
      status.textContent = 'Creating…';
      const r = await api('POST', '/characters', body);
      $('cc-submit').disabled = false;
      const o = outcome(r);
      if (o.state === 'done') {
        status.textContent = 'Created!';
        status.className = 'form-status good';
        await loadMe();
        await refresh();
        const t = $('act-text');
        if (t) t.focus();
      } else {
        status.textContent = o.reason;
        status.className = 'form-status bad';
      }
    });
    // Import a JSON export (a file or pasted text): the server checks it as Discord's
    // /character import does; the engine decides.
    $('import-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const status = $('imp-status');
      status.className = 'form-status';
      let text = $('imp-text').value;
      const file = $('imp-file').files && $('imp-file').files[0];
      if (file) {
        if (file.size > 64 * 1024) { status.textContent = 'That file is too large for a character.'; status.className = 'form-status bad'; return; }
        try { text = await file.text(); } catch (e) { status.textContent = 'That file cannot be read.'; status.className = 'form-status bad'; return; }
      }
      text = text.trim();
      if (!text) { status.textContent = 'Choose the .json file from an export, or paste it.'; status.className = 'form-status bad'; $('imp-file').focus(); return; }
      let body;
      try { body = JSON.parse(text); } catch (e) { status.textContent = 'That is not a character export (not JSON).'; status.className = 'form-status bad'; return; }
      $('imp-submit').disabled = true;
      status.textContent = 'Importing…';
      const r = await api('POST', '/characters/import', body);
      $('imp-submit').disabled = false;
      const o = outcome(r);
      if (o.state === 'done') {
        status.textContent = 'Imported!';
        status.className = 'form-status good';
        await loadMe();
        await refresh();
      } else {
        status.textContent = o.reason;
        status.className = 'form-status bad';
      }
    });
    $('private-badge').addEventListener('click', () => {
      $('private-badge').hidden = true;
      $('private-section').scrollIntoView({ block: 'start' });
      $('private-title').setAttribute('tabindex', '-1');
      $('private-title').focus();
    });
    $('card').addEventListener('click', () => {
      const sheet = $('sheet');
      sheet.hidden = !sheet.hidden;
      $('card').setAttribute('aria-expanded', String(!sheet.hidden));
      renderSheet();
    });
    $('act-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const input = $('act-text');
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      await act({ kind: 'say', text: text.slice(0, 500) }, '“' + text.slice(0, 120) + '”');
    });
    document.querySelectorAll('[data-quick]').forEach((b) => {
      b.addEventListener('click', async () => {
        const q = b.dataset.quick;
        const target = $('target').value;
        if (q === 'attack') {
          if (!target) return;
          await act({ kind: 'attack', target }, 'Attack ' + target);
        } else if (q === 'cast') {
          $('cast-row').hidden = !$('cast-row').hidden;
          if (!$('cast-row').hidden) $('spell').focus();
        } else if (q === 'dodge') {
          await act({ kind: 'dodge' }, 'Dodge');
        } else if (q === 'end_turn') {
          await act({ kind: 'end_turn' }, 'End turn');
        }
      });
    });
    $('react-use').addEventListener('click', async () => {
      $('react-row').hidden = true;
      await act({ kind: 'react', use: true }, $('react-use').textContent || 'React');
    });
    $('react-skip').addEventListener('click', async () => {
      $('react-row').hidden = true;
      await act({ kind: 'react', use: false }, 'Let it land');
    });
    $('cast-go').addEventListener('click', async () => {
      const spell = $('spell').value;
      if (!spell) return;
      const target = $('target').value;
      const body = { kind: 'cast', spell };
      if (target) body.targets = [target];
      $('cast-row').hidden = true;
      await act(body, 'Cast ' + spell + (target ? ' at ' + target : ''));
    });
  }

  // ---- TV --------------------------------------------------------------------------------
  function renderParty(snap) {
    const list = $('party');
    if (!list) return;
    clear(list);
    (Array.isArray(snap.party) ? snap.party : []).forEach((c) => {
      const li = el('li');
      const who = el('div', 'who');
      who.appendChild(el('span', 'name', str(c.name, 80)));
      const hp = num(c.hp, -9999, 99999, 0);
      const max = num(c.max_hp, 0, 99999, 0);
      who.appendChild(el('span', 'hp', hp + '/' + max + ' HP'));
      li.appendChild(who);
      const bar = el('span', 'hpbar');
      bar.setAttribute('role', 'meter');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', String(max));
      bar.setAttribute('aria-valuenow', String(Math.max(0, hp)));
      bar.setAttribute('aria-label', str(c.name, 80) + ' hit points');
      const fill = el('span');
      const pct = max > 0 ? Math.max(0, Math.min(100, Math.round((100 * hp) / max))) : 0;
      fill.style.width = pct + '%';
      if (pct <= 50) bar.classList.add('low');
      bar.appendChild(fill);
      li.appendChild(bar);
      const conds = Array.isArray(c.conditions) ? c.conditions : [];
      if (conds.length) li.appendChild(el('div', 'card-conds', conds.map((x) => str(x, 30)).join(', ')));
      const form = classLines(c).filter((l) => /^(Wild Shape|Inspired):/.test(l));
      if (form.length) li.appendChild(el('div', 'card-class', form.join(' · ')));
      list.appendChild(li);
    });
  }

  // ---- GM --------------------------------------------------------------------------------
  function gmStatus(id, text, good) {
    const s = $(id);
    if (!s) return;
    s.textContent = text;
    s.className = 'form-status ' + (good ? 'good' : 'bad');
  }

  function people() {
    // Players the GM can address: the party's players and whoever is online.
    const seen = new Map();
    const snap = S.snap || {};
    (Array.isArray(snap.party) ? snap.party : []).forEach((c) => {
      if (c.player) seen.set(c.player, str(c.name, 80));
    });
    S.online.forEach((o) => {
      if (o.role === 'player' && o.player && !seen.has(o.player)) seen.set(o.player, str(o.name || o.player, 80));
    });
    if (S.me && S.me.player) seen.delete(S.me.player);
    return seen;
  }

  function renderGmScene(snap) {
    const to = $('whisper-to');
    if (to) {
      const keep = to.value;
      clear(to);
      people().forEach((name, id) => { const o = el('option', '', name); o.value = id; to.appendChild(o); });
      if (keep) to.value = keep;
    }
    const tgt = $('hp-target');
    if (tgt) {
      const keep = tgt.value;
      clear(tgt);
      const names = new Set();
      (Array.isArray(snap.party) ? snap.party : []).forEach((c) => names.add(str(c.name, 80)));
      if (snap.combat && Array.isArray(snap.combat.initiative)) snap.combat.initiative.forEach((c) => names.add(str(c.name, 80)));
      names.forEach((n) => { const o = el('option', '', n); o.value = n; tgt.appendChild(o); });
      if (keep) tgt.value = keep;
    }
    renderGmParty(snap);
    renderPresence();
  }

  // The GM's party list: each character's hit points, armour class and conditions, and
  // every class-state line the player card and the TV show (beast form, inspiration,
  // resources, options).
  function renderGmParty(snap) {
    const list = $('gm-party');
    if (!list) return;
    clear(list);
    (Array.isArray(snap.party) ? snap.party : []).forEach((c) => {
      const li = el('li');
      const who = el('div', 'who');
      who.appendChild(el('span', 'name', str(c.name, 80)));
      const what = [];
      if (c.level) what.push('level ' + num(c.level, 1, 20, 1) + ' ' + str(c.race, 40) + ' ' + str(c.class, 40));
      what.push(num(c.hp, -9999, 99999, 0) + '/' + num(c.max_hp, 0, 99999, 0) + ' HP');
      if (c.temp_hp) what.push('+' + num(c.temp_hp, 0, 99999, 0) + ' temp');
      what.push('AC ' + num(c.ac, 0, 99, 0));
      who.appendChild(el('span', 'hp', what.join(' · ')));
      li.appendChild(who);
      const conds = Array.isArray(c.conditions) ? c.conditions : [];
      if (conds.length) li.appendChild(el('div', 'card-conds', conds.map((x) => str(x, 30)).join(', ')));
      classLines(c).forEach((l) => li.appendChild(el('div', 'card-class', l)));
      list.appendChild(li);
    });
  }

  function renderPresence() {
    const line = $('online');
    if (line) {
      const names = [];
      let tvs = 0;
      S.online.forEach((o) => {
        let n = null;
        if (o.role === 'display') tvs += 1;
        else if (o.role === 'gm') n = 'the GM';
        else if (o.player && o.player !== myPlayer()) n = str(o.name || o.player, 60);
        // One name for someone here through several front ends (phone and voice).
        if (n && !names.includes(n)) names.push(n);
      });
      if (tvs) names.push(tvs > 1 ? tvs + ' TV displays' : 'the TV display');
      line.textContent = names.length ? 'Also here: ' + names.join(', ') : '';
    }
    const list = $('who');
    if (!list) return;
    clear(list);
    // Per player, each front end they are here through: phone, GM page, Discord voice.
    const online = new Map();
    const label = (o) => (o.via === 'voice' ? 'Discord voice'
      : o.role === 'gm' ? 'GM page' : o.role === 'display' ? 'TV' : 'phone');
    S.online.forEach((o) => {
      if (!o.player) return;
      const l = online.get(o.player) || [];
      if (!l.includes(label(o))) l.push(label(o));
      online.set(o.player, l);
    });
    const rows = people();
    const displays = S.online.filter((o) => o.role === 'display').length;
    rows.forEach((name, id) => {
      const li = el('li');
      const on = online.get(id);
      li.appendChild(el('span', '', name + (on ? ' — online: ' + on.join(', ') : ' — offline')));
      const b = el('button', 'danger', 'Kick');
      b.type = 'button';
      b.setAttribute('aria-label', 'Kick ' + name);
      b.addEventListener('click', async () => {
        if (!window.confirm('Remove ' + name + ' from the table? Their links stop working.')) return;
        const r = await api('POST', '/kick', { player: id });
        gmStatus('inv-status', r.error || ('Kicked ' + name + '.'), !r.error);
      });
      li.appendChild(b);
      list.appendChild(li);
    });
    if (displays) list.appendChild(el('li', 'muted', displays + ' TV display' + (displays > 1 ? 's' : '') + ' connected'));
    if (!list.children.length) list.appendChild(el('li', 'muted', 'Nobody yet: invite a player.'));
  }

  // The server's QR code is an SVG it drew itself; it is parsed as SVG (not HTML) and
  // anything active is dropped before it is shown.
  function showQr(svgText) {
    const box = $('inv-qr');
    clear(box);
    if (!svgText) { box.appendChild(el('p', 'unavailable', 'No QR code from the server.')); return; }
    const doc = new DOMParser().parseFromString(String(svgText), 'image/svg+xml');
    const svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== 'svg' || doc.getElementsByTagName('parsererror').length) {
      box.appendChild(el('p', 'unavailable', 'The QR code could not be shown.'));
      return;
    }
    svg.querySelectorAll('script, foreignObject').forEach((n) => n.remove());
    svg.querySelectorAll('*').forEach((n) => {
      Array.from(n.attributes).forEach((a) => { if (/^on/i.test(a.name) || /href/i.test(a.name)) n.removeAttribute(a.name); });
    });
    box.appendChild(document.importNode(svg, true));
  }

  function showInvite(inv, label) {
    $('inv-new').hidden = false;
    const a = $('inv-link');
    a.textContent = (label ? label + ': ' : '') + str(inv.url, 300);
    a.href = /^https?:\/\//.test(inv.url || '') ? inv.url : '#';
    showQr(inv.qr_svg);
  }

  async function loadInvites() {
    const list = $('inv-list');
    if (!list) return;
    const r = await api('GET', '/invites');
    clear(list);
    if (r.error) { list.appendChild(el('li', 'unavailable', 'Invites: not available (' + r.error + ')')); return; }
    const invs = r.body && Array.isArray(r.body.invites) ? r.body.invites : [];
    if (!invs.length) list.appendChild(el('li', 'muted', 'No open invites.'));
    invs.slice(0, 100).forEach((inv) => {
      const li = el('li');
      const who = inv.role === 'player' ? str(inv.name || inv.player, 80) : (inv.role === 'display' ? 'TV display' : (inv.role === 'gm' ? 'GM link' : str(inv.role, 20)));
      li.appendChild(el('span', '', who + ' — unused'));
      const b = el('button', 'danger', 'Revoke');
      b.type = 'button';
      b.setAttribute('aria-label', 'Revoke the invite for ' + who);
      b.addEventListener('click', async () => {
        const d = await api('DELETE', '/invites/' + num(inv.id, 0, Number.MAX_SAFE_INTEGER, 0));
        gmStatus('inv-status', d.status === 204 || d.status === 200 ? 'Revoked.' : (d.error || 'Could not revoke.'), !d.error);
        loadInvites();
      });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  async function gmAct(body, statusId, doneText) {
    const r = await api('POST', '/actions', body);
    const o = outcome(r);
    gmStatus(statusId, o.state === 'done' ? doneText : o.reason, o.state === 'done');
    return o;
  }

  function setupGm() {
    $('inv-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = $('inv-name').value.trim();
      if (!name) { gmStatus('inv-status', 'Name the player first.', false); return; }
      const r = await api('POST', '/invites', { role: 'player', name: name.slice(0, 64) });
      if (r.error) { gmStatus('inv-status', r.error, false); return; }
      $('inv-name').value = '';
      showInvite(r.body || {}, 'Link for ' + name);
      gmStatus('inv-status', 'Invite made: it works once.', true);
      loadInvites();
    });
    $('inv-display').addEventListener('click', async () => {
      const r = await api('POST', '/invites', { role: 'display' });
      if (r.error) { gmStatus('inv-status', r.error, false); return; }
      showInvite(r.body || {}, 'TV display');
      gmStatus('inv-status', 'Open it on the TV or laptop: it works once.', true);
      loadInvites();
    });
    $('camp-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = $('camp-new').value.trim();
      if (!name) { gmStatus('camp-status', 'Name the campaign first.', false); return; }
      const r = await api('POST', '/campaigns', { name: name.slice(0, 80) });
      if (r.error) { gmStatus('camp-status', r.error, false); return; }
      showInvite(r.body || {}, 'GM link for ' + name);
      gmStatus('camp-status', 'Campaign started: open its GM link (above, under Invites) to run it.', true);
    });
    const end = $('camp-end');
    end.disabled = true;
    end.title = 'Not available: the server has no API to end a campaign yet';
    setText('camp-status', 'Ending a campaign from the web: not available yet.');
    $('fight-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const monsters = $('fight-monsters').value.trim();
      if (!monsters) { gmStatus('fight-status', 'Name the monsters, e.g. "3 goblins, an ogre".', false); return; }
      await gmAct({ kind: 'fight', monsters: monsters.slice(0, 200) }, 'fight-status', 'The fight is on.');
    });
    $('fight-end').addEventListener('click', () => gmAct({ kind: 'end_fight' }, 'fight-status', 'The fight is over.'));
    const cmd = $('hp-cmd');
    // Only what the API offers: set HP and conditions (damage / heal by the GM are not in it).
    Array.from(cmd.options).forEach((o) => {
      if (o.value === 'damage' || o.value === 'heal') { o.disabled = true; o.textContent += ' (not available)'; }
    });
    cmd.value = 'set';
    $('hp-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const target = $('hp-target').value;
      const v = $('hp-value').value.trim();
      if (!target) { gmStatus('fight-status', 'Pick a creature.', false); return; }
      if (cmd.value === 'set') {
        const hp = num(v, 0, 9999, NaN);
        if (Number.isNaN(hp)) { gmStatus('fight-status', 'HP must be a number.', false); return; }
        await gmAct({ kind: 'hp', target, hp }, 'fight-status', target + ' now has ' + hp + ' HP.');
      } else if (cmd.value === 'condition_add' || cmd.value === 'condition_remove') {
        if (!v) { gmStatus('fight-status', 'Name the condition (e.g. prone).', false); return; }
        const on = cmd.value === 'condition_add';
        await gmAct({ kind: 'condition', target, condition: v.toLowerCase().slice(0, 40), on }, 'fight-status', target + (on ? ' is now ' : ' is no longer ') + v + '.');
      }
    });
    $('whisper-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const to = $('whisper-to').value;
      const text = $('whisper-text').value.trim();
      if (!to || !text) { gmStatus('whisper-status', 'Pick a player and write the message.', false); return; }
      const o = await gmAct({ kind: 'whisper', to, text: text.slice(0, 500) }, 'whisper-status', 'Whispered.');
      if (o.state === 'done') $('whisper-text').value = '';
    });
    const dl = $('monster-names');
    MONSTERS.forEach((n) => { const o = el('option'); o.value = n; dl.appendChild(o); });
    loadInvites();
    setInterval(() => { if (!S.gone) loadInvites(); }, 30000);
  }

  // ---- start -------------------------------------------------------------------------
  async function start() {
    if (MODE === 'play') setupPlayer();
    if (MODE === 'gm') setupGm();
    await loadMe();
    if (S.gone) return;
    await backfill();
    await refresh();
    // Open at the newest part of the story (unless the character form comes first).
    const feed = $('feed');
    const create = $('create-section');
    if (MODE === 'play' && feed && feed.lastElementChild && !(create && !create.hidden)) {
      feed.lastElementChild.scrollIntoView({ block: 'end' });
    }
    connect();
  }
  start();
})();
