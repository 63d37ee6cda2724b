// Interactive report of one traced example. Reads the JSON in #report-data, draws inline SVG.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var root = document.getElementById("report");

  function el(tag, attrs, parent, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function svg(tag, attrs, parent) {
    var node = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function section(id, title) {
    var s = el("section", { id: id }, root);
    el("h2", {}, s, title);
    return s;
  }
  function fmt(v, d) { return v === null || v === undefined ? "–" : Number(v).toFixed(d); }
  function strideNote(stride, total, what) {
    return stride > 1 ? "Long trace: 1 " + what + " in " + stride + " of " + total +
      " shown (downsampled to at most ~400)." : "";
  }

  // A slider over the shown steps, its "step t of T" label and a detail box that draw(i, detail)
  // fills for step i; returns the redraw function, for the caller to call once its boxes exist.
  function stepSlider(s, id, v, draw) {
    var ctl = el("div", { class: "controls" }, s);
    var slider = el("input", { type: "range", id: id + "-slider", min: 0,
      max: v.steps.length - 1, value: 0, step: 1 }, ctl);
    var label = el("span", { id: id + "-step-label" }, ctl);
    var detail = el("div", { id: id + "-detail" }, s);
    function redraw(i) {
      i = Number(i);
      label.textContent = "step " + v.steps[i] + " of " + (v.total - 1);
      detail.innerHTML = "";
      draw(i, detail);
    }
    slider.addEventListener("input", function () { redraw(slider.value); });
    return redraw;
  }

  // A (time x channel) grid drawn with time across and channels down; values in [lo, hi].
  function heatMap(parent, grid, lo, hi, colour, cell) {
    var T = grid.length, C = T ? grid[0].length : 0;
    cell = cell || Math.max(3, Math.min(12, Math.floor(900 / Math.max(T, 1))));
    var ch = Math.max(4, Math.min(12, cell));
    var s = svg("svg", { width: T * cell, height: C * ch, class: "heat" }, parent);
    for (var t = 0; t < T; t++) {
      for (var c = 0; c < C; c++) {
        var v = grid[t][c];
        if (v === null) continue;
        var a = hi > lo ? (v - lo) / (hi - lo) : 0;
        a = Math.max(0, Math.min(1, a));
        var r = svg("rect", { x: t * cell, y: c * ch, width: cell, height: ch }, s);
        r.setAttribute("fill", colour(a, v));
      }
    }
    return s;
  }
  function grey(a) { var g = Math.round(255 * (1 - a)); return "rgb(" + g + "," + g + "," + g + ")"; }
  function diverging(a, v) {
    var m = Math.round(255 * (1 - Math.abs(2 * a - 1)));
    return v >= 0 ? "rgb(255," + m + "," + m + ")" : "rgb(" + m + "," + m + ",255)";
  }

  // --- header --------------------------------------------------------------------------------
  function header() {
    var m = DATA.meta, s = el("section", { id: "header" }, root);
    el("h1", {}, s, m.run + ": " + m.model + " on " + m.task);
    var at = m.length === null ? "" : " at length " + m.length;
    el("div", { class: "meta" }, s, "held-out example " + m.example + at +
      (m.preset ? " · preset " + m.preset : "") + " · views: " +
      (Object.keys(DATA.views).join(", ") || "none traced"));
    var io = DATA.io;
    if (io.kind === "grids") {
      el("p", { class: "note" }, s, "Time runs left to right, channels top to bottom. " +
        "Outputs: " + io.squash + ", zero where not scored. " +
        strideNote(io.stride, io.total, "step"));
      var lo = Math.min.apply(null, io.inputs.map(function (r) { return Math.min.apply(null, r); }));
      var hi = Math.max.apply(null, io.inputs.map(function (r) { return Math.max.apply(null, r); }));
      var signed = lo < 0;
      var lim = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      var box = el("div", { class: "scroll" }, s);
      [["input", io.inputs, signed ? -lim : 0, signed ? lim : hi || 1, signed ? diverging : grey],
       ["target", io.targets, 0, 1, grey], ["output", io.outputs, 0, 1, grey]]
        .forEach(function (row) {
          var r = el("div", { class: "grid-row", id: "io-" + row[0] }, box);
          el("span", { class: "label" }, r, row[0]);
          heatMap(r, row[1], row[2], row[3], row[4]);
        });
    } else {
      var names = io.kind === "memory" ? ["memory at the start", "target", "memory at the end"] :
        io.kind === "tape" ? ["input tape", "target", "output tape"] : ["source", "target", "output"];
      if (io.kind === "memory") {
        el("p", { class: "note" }, s, "One box per cell (cell 0 first); the target row shows " +
          "the scored cells only, and the end row each cell's most probable value, red where " +
          "a scored cell is wrong.");
      }
      [["source", io.source], ["target", io.target], ["output", io.output]].forEach(function (row, k) {
        if (!row[1]) return;
        var r = el("div", { class: "grid-row", id: "io-" + row[0] }, s);
        el("span", { class: "label" }, r, names[k]);
        var toks = el("div", { class: "tokens" }, r);
        row[1].forEach(function (t, i) {
          var scored = io.scored ? io.scored[i] : true;
          var wrong = row[0] === "output" && io.target && scored && io.target[i] !== t;
          el("span", { class: "tok" + (wrong ? " out-token wrong" : "") }, toks, t);
        });
      });
    }
  }

  // --- NTM -----------------------------------------------------------------------------------
  var STAGE_NAMES = { content: "content w_c", gated: "gated w_g", shifted: "shifted w~",
    final: "final w (sharpened)" };
  function bars(parent, values, w, h, colour, cls) {
    var s = svg("svg", { width: w, height: h, class: cls || "bars" }, parent);
    var n = values.length, bw = w / n;
    for (var i = 0; i < n; i++) {
      var bh = Math.max(0, Math.min(1, values[i] || 0)) * (h - 2);
      svg("rect", { x: i * bw, y: h - bh, width: Math.max(1, bw - (bw > 3 ? 1 : 0)), height: bh,
        fill: colour, "data-slot": i }, s);
    }
    return s;
  }
  function ntm(v) {
    var s = section("ntm", "Memory heads: where they write and read, and their addressing");
    el("p", { class: "note" }, s, "Drag the slider to scrub through time. Top: write (red) and " +
      "read (blue) weights over the " + v.slots + " memory slots. Below: each head's addressing " +
      "at this step, content → gated (g) → shifted → sharpened (γ). " +
      strideNote(v.stride, v.total, "step") +
      (v.ponder_starts.length ? " Inside ACT: steps are ponder steps." : ""));
    var ctl = el("div", { class: "controls" }, s);
    var slider = el("input", { type: "range", id: "time-slider", min: 0,
      max: v.steps.length - 1, value: 0, step: 1 }, ctl);
    var label = el("span", { id: "step-label" }, ctl);
    var pos = el("div", { id: "ntm-positions" }, s);
    var pipe = el("div", { id: "ntm-pipeline" }, s);
    var width = Math.min(1100, Math.max(300, v.slots * 8));
    var stageW = Math.max(140, Math.min(220, v.slots * 2));
    function draw(i) {
      i = Number(i);
      var step = v.steps[i];
      var input = "";
      if (v.ponder_starts.length) {
        var k = 0;
        while (k + 1 < v.ponder_starts.length && v.ponder_starts[k + 1] <= step) k++;
        input = " (input step " + k + ")";
      }
      label.textContent = "step " + step + " of " + (v.total - 1) + input;
      pos.innerHTML = "";
      v.heads.forEach(function (h) {
        el("h3", {}, pos, h.label + " weights at step " + step);
        bars(pos, h.stages.final[i], width, 50, h.kind === "write" ? "#d0483a" : "#3a6fd0",
          "head-bars " + h.kind);
      });
      if (v.memory) drawMemory(i);
      pipe.innerHTML = "";
      v.heads.forEach(function (h) {
        el("h3", {}, pipe, h.label + " head addressing");
        var row = el("div", { class: "pipeline" }, pipe);
        if (h.key) {
          var keyBox = el("div", { class: "stage" }, row);
          el("div", {}, keyBox, "key k (" + h.key[i].length + " values)");
          heatMap(keyBox, h.key[i].map(function (x) { return [x]; }), -1, 1, diverging, 8);
        }
        ["content", "gated", "shifted", "final"].forEach(function (st) {
          if (!h.stages[st]) return;
          var box = el("div", { class: "stage" }, row);
          el("div", {}, box, STAGE_NAMES[st]);
          bars(box, h.stages[st][i], stageW, 44, h.kind === "write" ? "#d0483a" : "#3a6fd0");
        });
        var sc = el("div", { class: "scalars" }, row);
        Object.keys(h.scalars).forEach(function (k) {
          el("div", {}, sc, k + " = " + fmt(h.scalars[k][i], 3));
        });
      });
    }
    var mem = v.memory ? el("div", { id: "ntm-memory" }, s) : null;
    if (mem) s.insertBefore(mem, pipe);
    function drawMemory(i) {
      var k = 0;
      while (k + 1 < v.memory.at.length && v.memory.at[k + 1] <= i) k++;
      mem.innerHTML = "";
      el("h3", {}, mem, "memory after step " + v.steps[v.memory.at[k]] +
        " (slots across, the " + v.memory.values[k][0].length + " values of each slot down; " +
        "red positive, blue negative)");
      heatMap(mem, v.memory.values[k], -v.memory.bound, v.memory.bound, diverging);
    }
    slider.addEventListener("input", function () { draw(slider.value); });
    draw(0);
  }

  // --- DNC: memory management ---------------------------------------------------------------
  var MODE_NAMES = ["backward", "content", "forward"];
  function dnc(v) {
    var s = section("dnc", "DNC: usage, allocation, read modes and temporal links");
    el("p", { class: "note" }, s, "Usage u_t of each slot over time (slots down). Drag the " +
      "slider for one step's write gate g^w, allocation share g^a, each read head's modes " +
      "π (backward, content, forward) and the link matrix L_t (row i written after column j). " +
      strideNote(v.stride, v.total, "step"));
    var box = el("div", { class: "scroll", id: "dnc-usage" }, s);
    heatMap(box, v.usage, 0, 1, grey);
    var cell = Math.max(3, Math.min(10, Math.floor(400 / Math.max(v.slots, 1))));
    var links;
    var draw = stepSlider(s, "dnc", v, function (i, detail) {
      el("div", { class: "gates" }, detail, "write gate g^w = " + fmt(v.write_gate[i], 3) +
        " · allocation share g^a = " + fmt(v.allocation_gate[i], 3));
      v.read_modes[i].forEach(function (modes, head) {
        el("div", { class: "modes" }, detail, "read head " + head + ": " +
          MODE_NAMES.map(function (name, m) { return name + " " + fmt(modes[m], 2); }).join(", "));
      });
      var k = 0;
      while (k + 1 < v.link.at.length && v.link.at[k + 1] <= i) k++;
      links.innerHTML = "";
      el("h3", {}, links, "links L_t after step " + v.steps[v.link.at[k]]);
      heatMap(links, v.link.values[k], 0, 1, grey, cell);
    });
    links = el("div", { id: "dnc-links" }, s);
    draw(0);
  }

  // --- stack, queue, deque ------------------------------------------------------------------
  function structure(v) {
    var s = section("structure", "Stack, queue or deque: what is pushed, held and popped");
    el("p", { class: "note" }, s, "The strength of each pushed value over time (time across, " +
      "the step that pushed it down). Drag the slider for one step's push and pop strengths " +
      "and the values held. " + strideNote(v.stride, v.total, "step"));
    v.ends.forEach(function (end, e) {
      if (end.name) el("h3", {}, s, end.name);
      heatMap(el("div", { class: "scroll", id: "structure-held-" + e }, s), end.held, 0, 1, grey);
    });
    stepSlider(s, "structure", v, function (i, detail) {
      v.ends.forEach(function (end) {
        var held = end.held[i].filter(function (x) { return x !== null && x > 0.005; }).length;
        el("div", { class: "gates" }, detail, (end.name ? end.name + ": " : "") +
          "push d_t = " + fmt(end.push[i], 3) + " · pop u_t = " + fmt(end.pop[i], 3) +
          " · " + held + " values held");
        bars(detail, end.held[i].slice(0, i + 1).map(function (x) { return x === null ? 0 : x; }),
          Math.max(120, 6 * (i + 1)), 40, "#2e6fb5", "held");
      });
    })(0);
  }

  // --- stack RNN -----------------------------------------------------------------------------
  var ACTION_NAMES = ["push", "pop", "no-op"];
  function stackRnn(v) {
    var s = section("stack-rnn", "Stack RNN: its stacks' cells and actions");
    el("p", { class: "note" }, s, "The cells of the first " + v.cells.length + " of " +
      v.stacks + " stacks over time (time across, the top cell first; blue below 0, red above, " +
      "an empty cell reads −1). Drag the slider for one step's action probabilities. " +
      strideNote(v.stride, v.total, "step"));
    v.cells.forEach(function (grid, k) {
      el("h3", {}, s, "stack " + k);
      heatMap(el("div", { class: "scroll", id: "stack-rnn-cells-" + k }, s), grid, -1, 1, diverging);
    });
    stepSlider(s, "stack-rnn", v, function (i, detail) {
      v.actions[i].forEach(function (probabilities, k) {
        el("div", { class: "modes" }, detail, "stack " + k + ": " + probabilities.map(
          function (p, a) { return ACTION_NAMES[a] + " " + fmt(p, 2); }).join(", "));
      });
    })(0);
  }

  // --- ACT -----------------------------------------------------------------------------------
  function memoryHops(v) {
    var s = section("memory-hops", "Memory network: which statements each hop reads");
    el("p", { class: "note" }, s, "Q: " + v.question + "  answer: " + v.answer + ", model: " +
      v.model_answer + ". Each column is a hop; the darker the cell, the more of the hop's " +
      "attention p the statement takes. ★ marks the statements the answer rests on.");
    var table = el("table", { class: "hops", id: "memory-hops-table" }, el("div", { class: "scroll" }, s));
    var head = el("tr", {}, table);
    el("th", {}, head, "");
    el("th", {}, head, "statement");
    v.attention.forEach(function (_, k) { el("th", {}, head, "hop " + (k + 1)); });
    v.statements.forEach(function (text, j) {
      var row = el("tr", { class: v.supports[j] ? "support" : "" }, table);
      el("td", {}, row, v.supports[j] ? "★" : "");
      el("td", {}, row, (j + 1) + ". " + text);
      v.attention.forEach(function (p) {
        var cell = el("td", { class: "p" }, row, fmt(p[j], 2));
        cell.style.background = grey(Math.max(0, Math.min(1, p[j])));
        if (p[j] > 0.5) cell.style.color = "#fff";
      });
    });
  }
  // --- Neural GPU ----------------------------------------------------------------------------
  function neuralGpu(v) {
    var s = section("neural-gpu", "Neural GPU: the result forming over the steps");
    el("p", { class: "note" }, s, "Each column is a result digit (least significant first), " +
      "each row a step: the darker the cell, the surer the output read from the image at that " +
      "step is of the right digit. Below, the update gate u of the first row (dark: the state " +
      "kept). Drag the slider for the digits the image would give at one step. " +
      strideNote(v.stride, v.total, "step"));
    heatMap(el("div", { class: "scroll", id: "neural-gpu-probability" }, s),
      v.target_probability, 0, 1, grey);
    heatMap(el("div", { class: "scroll", id: "neural-gpu-update" }, s), v.update, 0, 1, grey);
    stepSlider(s, "neural-gpu", v, function (i, detail) {
      var right = v.written[i].filter(function (d, j) { return d === v.targets[j]; }).length;
      el("div", { class: "modes" }, detail, "written: " + v.written[i].join("") + " · target: " +
        v.targets.join("") + " · " + right + " of " + v.targets.length + " digits right");
    })(0);
  }

  // --- NRAM ----------------------------------------------------------------------------------
  function nram(v) {
    var s = section("nram", "NRAM: the memory over the timesteps, and the circuits");
    el("p", { class: "note" }, s, "Top: the probability that each scored cell (down) holds its " +
      "target after each timestep (across); dark = right and sure. Below it, the stopping " +
      "probability p_t of each timestep. Drag the slider for the memory after one timestep " +
      "(each cell's most probable value, faded where unsure; scored cells framed, red where " +
      "wrong) and its most probable circuit. " + strideNote(v.stride, v.total, "timestep"));
    el("h3", {}, s, "P(scored cell holds its target)");
    heatMap(el("div", { class: "scroll", id: "nram-targets" }, s), v.target_probability, 0, 1, grey);
    el("h3", {}, s, "stopping probability p_t");
    var T = v.stop.length, bw = Math.max(3, Math.min(28, Math.floor(900 / Math.max(T, 1))));
    bars(el("div", { class: "scroll", id: "nram-stop" }, s), v.stop, T * bw, 40, "#2e6fb5", "stop");
    stepSlider(s, "nram", v, function (i, detail) {
      el("div", { class: "gates" }, detail, "after timestep " + (v.steps[i] + 1) + ": p_t = " +
        fmt(v.stop[i], 3));
      var toks = el("div", { class: "tokens", id: "nram-cells" }, detail);
      v.values[i].forEach(function (value, c) {
        var k = v.scored.indexOf(c);
        var cls = "tok" + (k >= 0 ? " scored" + (value !== v.targets[k] ? " wrong" : "") : "");
        var t = el("span", { class: cls, title: "cell " + c + ": p " + fmt(v.sureness[i][c], 2) },
          toks, String(value));
        t.style.opacity = fmt(0.25 + 0.75 * v.sureness[i][c], 2);
      });
      if (v.circuits.length) el("pre", { class: "circuit" }, detail, v.circuits[i]);
    })(0);
  }

  // --- RL-NTM --------------------------------------------------------------------------------
  var MOVE_NAMES = ["back", "stay", "forward"];
  function oneHot(positions, size) {
    return positions.map(function (p) {
      var row = [];
      for (var c = 0; c < size; c++) row.push(c === p ? 1 : 0);
      return row;
    });
  }
  function rlNtm(v) {
    var s = section("rl-ntm", "RL-NTM: its heads on the tapes, and when it emits");
    el("p", { class: "note" }, s, "The input head's cell at each step (steps across, the tape's " +
      "cells down: " + v.tape.join(" ") + ")" + (v.memory_head ? ", then the memory head's" : "") +
      ", then P(emit) and the steps that emitted. Drag the slider for one step's " +
      "choices. " + strideNote(v.stride, v.total, "step"));
    el("h3", {}, s, "input head");
    heatMap(el("div", { class: "scroll", id: "rl-ntm-input-head" }, s),
      oneHot(v.input_head, v.tape.length), 0, 1, grey);
    if (v.memory_head) {
      var top = Math.max.apply(null, v.memory_head.concat([0]));
      el("h3", {}, s, "memory head");
      heatMap(el("div", { class: "scroll", id: "rl-ntm-memory-head" }, s),
        oneHot(v.memory_head, top + 1), 0, 1, grey);
    }
    el("h3", {}, s, "P(emit), then whether it emitted");
    heatMap(el("div", { class: "scroll", id: "rl-ntm-emit" }, s), v.emit_probability.map(
      function (p, i) { return [p, v.emit[i] ? 1 : 0]; }), 0, 1, grey);
    stepSlider(s, "rl-ntm", v, function (i, detail) {
      var cell = v.input_head[i];
      el("div", { class: "gates" }, detail, "input head on cell " + cell + " (" + v.tape[cell] +
        ")" + (v.memory_head ? " · memory head on cell " + v.memory_head[i] : "") +
        " · P(emit) = " + fmt(v.emit_probability[i], 3) + (v.emit[i] ? ", emitted" : ", silent"));
      el("div", { class: "modes" }, detail, "input move: " + MOVE_NAMES.map(function (name, m) {
        return name + " " + fmt(v.input_move[i][m], 2);
      }).join(", "));
    })(0);
  }

  function act(v) {
    var s = section("act", "ACT: ponder steps per input step");
    el("p", { class: "note" }, s, "Bar height: ponder steps N(t); mean " + v.mean +
      ". Click or hover a bar to see its halting probabilities p_t^n. " +
      strideNote(v.stride, v.total, "input step"));
    var T = v.ponder_steps.length;
    var top = Math.max.apply(null, v.ponder_steps.concat([1]));
    var bw = Math.max(3, Math.min(28, Math.floor(1000 / T))), H = 110;
    var box = el("div", { class: "scroll" }, s);
    var chart = svg("svg", { width: T * bw + 30, height: H + 20, id: "ponder-chart" }, box);
    svg("text", { x: 0, y: 10, "font-size": 10, fill: "#666" }, chart).textContent = top;
    svg("text", { x: 0, y: H, "font-size": 10, fill: "#666" }, chart).textContent = "0";
    svg("text", { x: 26, y: H + 14, "font-size": 10, fill: "#666" }, chart).textContent =
      "input step →";
    var details = el("div", { id: "halting-details" }, s);
    details.textContent = "(no input step selected)";
    var rects = [];
    function show(i) {
      rects.forEach(function (r) { r.classList.remove("selected"); });
      rects[i].classList.add("selected");
      details.innerHTML = "";
      var p = v.halting[i], n = v.ponder_steps[i];
      el("h3", {}, details, "input step " + v.steps[i] + ": " + n + " ponder step" +
        (n === 1 ? "" : "s") + ", halting probabilities p_t^n");
      var hs = svg("svg", { width: p.length * 56, height: 96, class: "halting-chart" }, details);
      p.forEach(function (q, k) {
        var h = Math.max(0, Math.min(1, q || 0)) * 56;
        svg("rect", { x: k * 56 + 6, y: 64 - h, width: 44, height: h, fill: "#4a9c5a",
          class: "halting-bar" }, hs);
        svg("text", { x: k * 56 + 28, y: 78, "font-size": 10, "text-anchor": "middle" },
          hs).textContent = "n=" + (k + 1);
        svg("text", { x: k * 56 + 28, y: 91, "font-size": 10, "text-anchor": "middle" },
          hs).textContent = fmt(q, 2);
      });
    }
    v.ponder_steps.forEach(function (n, i) {
      var h = (n / top) * (H - 14);
      var r = svg("rect", { x: 26 + i * bw, y: H - h, width: Math.max(2, bw - 1), height: h,
        class: "ponder-bar", "data-index": i }, chart);
      svg("title", {}, r).textContent = "input step " + v.steps[i] + ": " + n;
      r.addEventListener("click", function () { show(i); });
      r.addEventListener("mouseenter", function () { show(i); });
      rects.push(r);
    });
  }

  // --- attention -----------------------------------------------------------------------------
  function attention(v) {
    var s = section("attention", "Attention: where each output token looks");
    el("p", { class: "note" }, s, "Hover (or click) an output token: the source tokens are " +
      "shaded by its attention weight." + (v.truncated ? " Only the first 400 outputs shown." : ""));
    el("h3", {}, s, "source");
    var src = el("div", { class: "tokens", id: "source-tokens" }, s);
    var srcEls = v.source.map(function (t, j) {
      return el("span", { class: "tok src-token", "data-index": j }, src, t);
    });
    el("h3", {}, s, "output (predicted; red where it differs from the target)");
    var out = el("div", { class: "tokens", id: "output-tokens" }, s);
    var readout = el("div", { class: "note", id: "attention-readout" }, s, "");
    var outEls = [];
    function highlight(i) {
      outEls.forEach(function (o) { o.classList.remove("active"); });
      outEls[i].classList.add("active");
      var w = v.weights[i], best = 0;
      srcEls.forEach(function (e, j) {
        e.style.backgroundColor = "rgba(214, 90, 20, " + fmt(w[j] || 0, 3) + ")";
        if ((w[j] || 0) > (w[best] || 0)) best = j;
      });
      readout.textContent = "output " + i + " (" + v.outputs[i] + ") attends most to source " +
        best + " (" + v.source[best] + ") with weight " + fmt(w[best], 2);
    }
    v.outputs.forEach(function (t, i) {
      var o = el("span", { class: "tok out-token" + (t.indexOf("(want") >= 0 ? " wrong" : ""),
        "data-index": i }, out, t);
      o.addEventListener("mouseenter", function () { highlight(i); });
      o.addEventListener("click", function () { highlight(i); });
      outEls.push(o);
    });
  }

  // --- attention over an image ------------------------------------------------------------------
  function imageAttention(v) {
    var s = section("image-attention", "Attention over the image: where each output looks");
    el("p", { class: "note" }, s, "Hover (or click) an output token: its attention over the " +
      "CNN's feature grid is drawn in orange over the image (darker = more weight).");
    var H = v.image.length, W = v.image[0].length, cell = Math.max(4, Math.floor(900 / W));
    var gh = v.weights[0].length, gw = v.weights[0][0].length;
    var g = svg("svg", { width: W * cell, height: H * cell, id: "image-attention-map",
      class: "heat" }, s);
    for (var y = 0; y < H; y++) {
      for (var x = 0; x < W; x++) {
        svg("rect", { x: x * cell, y: y * cell, width: cell, height: cell,
          fill: grey(Math.max(0, Math.min(1, v.image[y][x]))) }, g);
      }
    }
    var layer = svg("g", { id: "image-attention-overlay" }, g);
    var out = el("div", { class: "tokens", id: "image-output-tokens" }, s);
    var readout = el("div", { class: "note", id: "image-attention-readout" }, s, "");
    var outEls = [];
    function show(i) {
      outEls.forEach(function (o) { o.classList.remove("active"); });
      outEls[i].classList.add("active");
      while (layer.firstChild) layer.removeChild(layer.firstChild);
      var w = v.weights[i], top = 0;
      w.forEach(function (row) { row.forEach(function (a) { top = Math.max(top, a); }); });
      var ch = H / gh * cell, cw = W / gw * cell;
      w.forEach(function (row, r) {
        row.forEach(function (a, c) {
          if (a <= 0) return;
          svg("rect", { x: c * cw, y: r * ch, width: cw, height: ch, fill: "rgb(230, 110, 20)",
            "fill-opacity": fmt(0.85 * a / (top || 1), 3), class: "attention-cell" }, layer);
        });
      });
      readout.textContent = "output " + i + " (" + v.outputs[i] + "): largest weight " +
        fmt(top, 3) + " on one of " + gh * gw + " grid cells";
    }
    v.outputs.forEach(function (t, i) {
      var o = el("span", { class: "tok out-token" + (t.indexOf("(want") >= 0 ? " wrong" : ""),
        "data-index": i }, out, t);
      o.addEventListener("mouseenter", function () { show(i); });
      o.addEventListener("click", function () { show(i); });
      outEls.push(o);
    });
    if (outEls.length) show(0);
  }

  // --- attention over audio --------------------------------------------------------------------
  function speechAttention(v) {
    var s = section("speech-attention", "Attention over the audio: where each character listens");
    el("p", { class: "note" }, s, "Hover (or click) a written character: its attention over " +
      "the listener's steps (each " + v.frames_per_step + " frames of 10 ms) is drawn in orange " +
      "above and over the log-mel spectrogram (time across, mel bins up).");
    el("div", { class: "note" }, s, "heard: \u201c" + v.heard + "\u201d" +
      (v.heard === v.said ? " (right)" : "; said: \u201c" + v.said + "\u201d"));
    var spec = v.spectrogram, F = spec.length, C = F ? spec[0].length : 0;
    var cw = Math.max(2, Math.floor(900 / Math.max(C, 1))), ch = 4, band = 28;
    var lo = Infinity, hi = -Infinity;
    spec.forEach(function (row) { row.forEach(function (x) { lo = Math.min(lo, x); hi = Math.max(hi, x); }); });
    var g = svg("svg", { width: C * cw, height: band + F * ch, id: "speech-spectrogram",
      class: "heat" }, s);
    for (var f = 0; f < F; f++) {
      for (var c = 0; c < C; c++) {
        var a = hi > lo ? (spec[f][c] - lo) / (hi - lo) : 0;
        svg("rect", { x: c * cw, y: band + (F - 1 - f) * ch, width: cw, height: ch,
          fill: grey(a) }, g);
      }
    }
    var layer = svg("g", { id: "speech-attention-overlay" }, g);
    var out = el("div", { class: "tokens", id: "speech-output-tokens" }, s);
    var readout = el("div", { class: "note", id: "speech-attention-readout" }, s, "");
    var columnsPerStep = v.frames_per_step / v.frame_stride, outEls = [];
    function show(i) {
      outEls.forEach(function (o) { o.classList.remove("active"); });
      outEls[i].classList.add("active");
      while (layer.firstChild) layer.removeChild(layer.firstChild);
      var w = v.weights[i], best = 0, top = 0;
      w.forEach(function (a, u) { if (a > top) { top = a; best = u; } });
      w.forEach(function (a, u) {
        if (a <= 0) return;
        var x = u * columnsPerStep * cw, width = columnsPerStep * cw;
        svg("rect", { x: x, y: 0, width: width, height: band, fill: "rgb(230, 110, 20)",
          "fill-opacity": fmt(a / (top || 1), 3), class: "listen-step" }, layer);
        svg("rect", { x: x, y: band, width: width, height: F * ch, fill: "rgb(230, 110, 20)",
          "fill-opacity": fmt(0.45 * a / (top || 1), 3) }, layer);
      });
      var start = best * v.frames_per_step / 100, end = (best + 1) * v.frames_per_step / 100;
      readout.textContent = "output " + i + " (" + v.outputs[i] + ") listens most to " +
        fmt(start, 2) + "\u2013" + fmt(end, 2) + " s (listener step " + best + ", weight " +
        fmt(top, 2) + ")";
    }
    v.outputs.forEach(function (t, i) {
      var o = el("span", { class: "tok out-token speech-token", "data-index": i }, out, t);
      o.addEventListener("mouseenter", function () { show(i); });
      o.addEventListener("click", function () { show(i); });
      outEls.push(o);
    });
    if (outEls.length) show(0);
  }

  // --- learning curves -----------------------------------------------------------------------
  function curves(list) {
    var s = section("curves", "Learning curves (from metrics.jsonl)");
    el("p", { class: "note" }, s, "x: sequences seen; y: metric (log scale where it spans over " +
      "two orders of magnitude).");
    var wrap = el("div", { class: "curves" }, s);
    list.forEach(function (c) {
      var box = el("div", { class: "curve" }, wrap);
      el("h3", {}, box, c.title);
      var W = 340, H = 180, L = 52, B = 26, P = 8;
      var xs = c.points.map(function (p) { return p[0]; });
      var ys = c.points.map(function (p) { return p[1]; });
      var ylo = Math.min.apply(null, ys), yhi = Math.max.apply(null, ys);
      var log = ylo > 0 && yhi / ylo > 100;
      var f = log ? Math.log10 : function (y) { return y; };
      var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
      var y0 = f(ylo), y1 = f(yhi);
      if (x1 === x0) x1 = x0 + 1;
      if (y1 === y0) { y1 = y0 + 1; y0 = y0 - 1; }
      var X = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - P); };
      var Y = function (y) { return P + (1 - (f(y) - y0) / (y1 - y0)) * (H - B - P); };
      var g = svg("svg", { width: W, height: H, class: "curve-chart" }, box);
      svg("line", { x1: L, y1: H - B, x2: W - P, y2: H - B, stroke: "#999" }, g);
      svg("line", { x1: L, y1: P, x2: L, y2: H - B, stroke: "#999" }, g);
      var label = function (x, y, t, anchor) {
        var n = svg("text", { x: x, y: y, "font-size": 10, fill: "#555",
          "text-anchor": anchor || "start" }, g);
        n.textContent = t;
      };
      var short = function (v) { return Math.abs(v) >= 1000 ? v.toExponential(1) : +v.toPrecision(3); };
      label(L - 4, P + 8, short(yhi), "end");
      label(L - 4, H - B, short(ylo), "end");
      label(L, H - 8, short(x0));
      label(W - P, H - 8, short(x1), "end");
      var d = c.points.map(function (p, k) {
        return (k ? "L" : "M") + X(p[0]).toFixed(1) + "," + Y(p[1]).toFixed(1);
      }).join("");
      var held = c.title.indexOf("held out") >= 0;
      svg("path", { d: d, fill: "none", stroke: held ? "#c0392b" : "#2e6fb5",
        "stroke-width": 1.5 }, g);
      if (c.points.length === 1) {
        label(L + 8, H / 2 - 6, "one evaluation: " + short(ys[0]));
      }
      if (held && c.points.length <= 60) {
        c.points.forEach(function (p) {
          svg("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.2, fill: "#c0392b" }, g);
        });
      }
    });
  }

  header();
  if (DATA.views.ntm) ntm(DATA.views.ntm);
  if (DATA.views.dnc) dnc(DATA.views.dnc);
  if (DATA.views.structure) structure(DATA.views.structure);
  if (DATA.views.stack_rnn) stackRnn(DATA.views.stack_rnn);
  if (DATA.views.memory_hops) memoryHops(DATA.views.memory_hops);
  if (DATA.views.neural_gpu) neuralGpu(DATA.views.neural_gpu);
  if (DATA.views.nram) nram(DATA.views.nram);
  if (DATA.views.rl_ntm) rlNtm(DATA.views.rl_ntm);
  if (DATA.views.act) act(DATA.views.act);
  if (DATA.views.attention) attention(DATA.views.attention);
  if (DATA.views.image_attention) imageAttention(DATA.views.image_attention);
  if (DATA.views.speech_attention) speechAttention(DATA.views.speech_attention);
  if (DATA.curves.length) curves(DATA.curves);
})();
