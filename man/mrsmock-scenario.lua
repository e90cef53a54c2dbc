-- scenarios/README.md, the one description of the scenario format, in the form of a manual
-- page: pandoc -f gfm -t man -s --lua-filter man/mrsmock-scenario.lua (see the Makefile, which
-- passes the metadata: title, section, footer, date and sharedir, where the scenarios are
-- installed). The README stays the source: this only reshapes it.
--   the title becomes NAME and DESCRIPTION; the table of contents is dropped (a pager searches);
--   each "##" section is a section (.SH, in capitals), deeper ones subsections (.SS);
--   a table becomes a list tagged with its first column, each other column a line of the entry
--   ("type: ...", "default: ..."), as manual pages list options; tbl's narrow columns would not
--   fit the README's long cells into 80 columns without warnings;
--   links within the README are their text; links to the project's README name mrsmock(1);
--   FILES and SEE ALSO are added at the end.

local refs = {
  ["../README.md#the-state-folder"] = "FILES in mrsmock(1)",
}

local function upper(inlines)
  return pandoc.walk_inline(pandoc.Span(inlines), {
    Str = function(s) return pandoc.Str(pandoc.text.upper(s.text)) end,
    Code = function(c) return pandoc.Str(pandoc.text.upper(c.text)) end,
  }).content
end

-- the inlines of a table cell (a Plain, or nothing)
local function cell_inlines(blocks)
  local out = {}
  for _, b in ipairs(blocks) do
    if b.content then
      if #out > 0 then table.insert(out, pandoc.Space()) end
      for _, i in ipairs(b.content) do table.insert(out, i) end
    end
  end
  return out
end

function Table(t)
  local simple = pandoc.utils.to_simple_table(t)
  local heads, items = {}, {}
  for i, h in ipairs(simple.headers) do heads[i] = cell_inlines(h) end
  for _, row in ipairs(simple.rows) do
    local term, line = cell_inlines(row[1]), {}
    for i = 2, #row do
      local c = cell_inlines(row[i])
      if #c > 0 then
        if #line > 0 then table.insert(line, pandoc.RawInline("man", "\n.br\n")) end
        table.insert(line, pandoc.Emph(heads[i]))
        table.insert(line, pandoc.Str(":"))
        table.insert(line, pandoc.Space())
        for _, x in ipairs(c) do table.insert(line, x) end
      end
    end
    table.insert(items, {term, {{pandoc.Plain(line)}}})
  end
  return pandoc.DefinitionList(items)
end

function Link(l)
  local t = l.target
  if t:sub(1, 1) == "#" then
    return l.content
  elseif refs[t] then
    return pandoc.Str(refs[t])
  end
end

function Pandoc(doc)
  local meta = doc.meta
  local sharedir = meta.sharedir and pandoc.utils.stringify(meta.sharedir) or "/usr/local/share/mrsmock"
  local out, skipping = {}, false
  for _, b in ipairs(doc.blocks) do
    if b.t == "Header" and b.level <= 2 then
      skipping = b.level == 2 and pandoc.utils.stringify(b.content) == "Contents"
    end
    if skipping then
      -- the README's table of contents
    elseif b.t == "Header" and b.level == 1 then
      table.insert(out, pandoc.RawBlock("man",
        ".SH NAME\nmrsmock-scenario \\- the scenario files of mrsmock(1)\n.SH DESCRIPTION"))
    elseif b.t == "Header" and b.level == 2 then
      table.insert(out, pandoc.Header(1, upper(b.content), b.attr))
    elseif b.t == "Header" then
      table.insert(out, pandoc.Header(b.level - 1, b.content, b.attr))
    else
      table.insert(out, b)
    end
  end
  table.insert(out, pandoc.RawBlock("man", table.concat({
    ".SH FILES",
    ".TP",
    "\\f[I]" .. sharedir .. "/scenarios/\\f[R]",
    "the bundled scenarios, one file each (\\f[I]NAME\\f[R].xml), their schema",
    "\\f[I]scenario.rng\\f[R] and the README this page is made from",
    ".SH SEE ALSO",
    "\\f[B]mrsmock\\f[R](1)",
  }, "\n")))
  return pandoc.Pandoc(out, meta)
end
