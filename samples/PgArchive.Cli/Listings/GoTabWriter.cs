using System.Text;

namespace PgArchive.Cli.Listings;

/// <summary>
/// Go's <c>text/tabwriter</c> as WAL-G's plain listings use it (<c>internal/printlist/entities.go</c>:
/// <c>tabwriter.NewWriter(output, 0, 0, 1, ' ', 0)</c>: minimum width 0, tab width 0, padding 1, spaces, no flags),
/// written from Go's <c>src/text/tabwriter/tabwriter.go</c>. Text is cut into cells at tabs (<c>\t</c>, <c>\v</c>);
/// lines end at <c>\n</c> and <c>\f</c>. A column is a run of adjacent lines that have a cell there (the last cell of
/// a line belongs to no column): its width is its widest cell, counted in Unicode scalar values as Go counts runes,
/// plus the padding. Cells are padded with spaces to their column's width; the last cell of a line never is. A line
/// without a tab, and every <c>\f</c>, flushes: the lines after it are aligned on their own.
/// </summary>
internal sealed class GoTabWriter
{
    private const int Padding = 1;

    private readonly StringBuilder _output = new();
    private readonly StringBuilder _buffer = new(); // the cells' text, without tabs and line ends
    private readonly List<List<Cell>> _lines = [];
    private readonly List<int> _widths = [];
    private Cell _cell;

    private GoTabWriter() => AddLine();

    /// <summary>Aligns <paramref name="text"/> as Go's tabwriter does, from the first write to the final <c>Flush</c>.</summary>
    public static string Format(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var writer = new GoTabWriter();
        writer.Write(text);
        writer.Flush();
        return writer._output.ToString();
    }

    private void Write(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (ch is not ('\t' or '\v' or '\n' or '\f'))
            {
                continue;
            }

            Append(text.AsSpan(start, i - start));
            start = i + 1;
            var cells = TerminateCell();
            if (ch is '\n' or '\f')
            {
                AddLine();
                if (ch == '\f' || cells == 1)
                {
                    // Go: a line of one cell cannot affect the lines after it (the last cell of a line belongs to no column).
                    Flush();
                }
            }
        }

        Append(text.AsSpan(start));
    }

    private void Append(ReadOnlySpan<char> text)
    {
        _buffer.Append(text);
        _cell.Size += text.Length;
        foreach (var _ in text.EnumerateRunes())
        {
            _cell.Width++;
        }
    }

    private int TerminateCell()
    {
        var line = _lines[^1];
        line.Add(_cell);
        _cell = default;
        return line.Count;
    }

    private void AddLine() => _lines.Add([]);

    private void Flush()
    {
        if (_cell.Size > 0)
        {
            TerminateCell();
        }

        FormatLines(0, 0, _lines.Count);
        _buffer.Clear();
        _lines.Clear();
        _widths.Clear();
        _cell = default;
        AddLine();
    }

    /// <summary>Go's <c>format</c>: finds the column blocks right of the known widths and writes lines line0 to line1 (excluded).</summary>
    private int FormatLines(int position, int line0, int line1)
    {
        var column = _widths.Count;
        for (var current = line0; current < line1; current++)
        {
            if (column >= _lines[current].Count - 1)
            {
                continue;
            }

            // a column block begins: print the lines above it with the widths known so far
            position = WriteLines(position, line0, current);
            line0 = current;
            var width = 0; // minimum width 0
            for (; current < line1; current++)
            {
                var line = _lines[current];
                if (column >= line.Count - 1)
                {
                    break;
                }

                width = Math.Max(width, line[column].Width + Padding);
            }

            _widths.Add(width);
            position = FormatLines(position, line0, current);
            _widths.RemoveAt(_widths.Count - 1);
            line0 = current;
        }

        return WriteLines(position, line0, line1);
    }

    private int WriteLines(int position, int line0, int line1)
    {
        for (var i = line0; i < line1; i++)
        {
            var line = _lines[i];
            for (var j = 0; j < line.Count; j++)
            {
                var cell = line[j];
                _output.Append(_buffer, position, cell.Size);
                position += cell.Size;
                if (j < _widths.Count)
                {
                    _output.Append(' ', _widths[j] - cell.Width);
                }
            }

            if (i + 1 == _lines.Count)
            {
                // the last buffered line has no line end yet: what is left of it
                _output.Append(_buffer, position, _cell.Size);
                position += _cell.Size;
            }
            else
            {
                _output.Append('\n');
            }
        }

        return position;
    }

    private struct Cell
    {
        public int Size;   // UTF-16 units in the buffer
        public int Width;  // Unicode scalar values, as Go counts runes (whether '\t' ended it matters only to DiscardEmptyColumns, unused here)
    }
}
