using System.Globalization;
using System.Text;

namespace PgArchive.Cli.Listings;

/// <summary>
/// The table go-pretty v6 (github.com/jedib0t/go-pretty, v6.8.2 as WAL-G's go.mod pins it) renders for WAL-G's
/// <c>--pretty</c> listings (<c>internal/printlist/entities.go</c> listInASCIITable: <c>table.NewWriter()</c>, no style
/// set so <c>StyleDefault</c>, one header row, one row per entity, <c>SetOutputMirror</c>), written from go-pretty's
/// source:
/// <list type="bullet">
/// <item><c>table/style_box.go</c> StyleBoxDefault: <c>+</c> corners and separators, <c>-</c> rules, <c>|</c> verticals, one
/// space of padding each side; <c>table/style_options.go</c> OptionsDefault: border drawn, columns separated, the header
/// separated, rows not; <c>table/render.go</c>: top border, header, header rule, rows, bottom border, every rule
/// <c>+</c> and <c>-</c> only (no merged cells), lines joined by <c>\n</c>; <c>table/table.go</c> render: the output
/// mirror gets the text and one <c>\n</c>.</item>
/// <item><c>table/style_format.go</c> FormatOptionsDefault: header text upper-cased (<c>text/format.go</c>), rows as given.</item>
/// <item><c>table/table.go</c> getAlign with <c>table/render_init.go</c> analyzeAndStringify and <c>table/util.go</c>
/// isNumber: a column whose row cells are all Go numbers (not strings) is right-aligned, its header too; every
/// other is left-aligned. <c>text/align.go</c> Apply: left-aligned text loses its trailing spaces, right-aligned its
/// leading ones, before it is padded to the column's width.</item>
/// <item><c>table/render_init.go</c> analyzeAndStringifyColumn: a tab becomes four spaces, <c>text/string.go</c>
/// ProcessCRLF: <c>\r\n</c> is a line break and a lone <c>\r</c> returns to the start of its line; a cell of several
/// lines makes its row that many lines, each column's lines at the top (<c>text/valign.go</c>, VAlignDefault).</item>
/// <item>A column is as wide as its widest line of text (header included) in display columns (<c>text/string.go</c>
/// LongestLineLen, RuneWidth through go-runewidth): <see cref="DisplayWidth(string)"/>.</item>
/// </list>
/// </summary>
internal static class GoPrettyTable
{
    /// <summary>Renders one header row and <paramref name="rows"/>, whose cells are strings or Go numbers (int, long).</summary>
    public static string Render(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<object>> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        var columns = Math.Max(header.Count, rows.Count == 0 ? 0 : rows.Max(r => r.Count));
        if (columns == 0)
        {
            return "";
        }

        var rightAligned = new bool[columns];
        for (var column = 0; column < columns; column++)
        {
            rightAligned[column] = rows.All(r => column >= r.Count || r[column] is int or long);
        }

        var headerCells = header.Select(Stringify).ToArray();
        var rowCells = rows.Select(r => r.Select(Stringify).ToArray()).ToList();
        var widths = new int[columns];
        foreach (var cells in rowCells.Prepend(headerCells))
        {
            for (var column = 0; column < cells.Length; column++)
            {
                widths[column] = Math.Max(widths[column], cells[column].Split('\n').Max(DisplayWidth));
            }
        }

        var lines = new List<string>();
        var rule = "+" + string.Join('+', widths.Select(w => new string('-', w + 2))) + "+";
        lines.Add(rule);
        AddRow(lines, headerCells, widths, rightAligned, upperCase: true);
        lines.Add(rule);
        foreach (var cells in rowCells)
        {
            AddRow(lines, cells, widths, rightAligned, upperCase: false);
        }

        lines.Add(rule);
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>
    /// How many terminal columns go-pretty counts for <paramref name="text"/> (go-runewidth's RuneWidth, not East Asian
    /// ambiguous): 0 for control characters, soft hyphens, zero-width and combining marks; 2 for East Asian wide and
    /// full-width characters and emoji; 1 for the rest. The wide ranges are go-runewidth's main blocks, not its whole table.
    /// </summary>
    internal static int DisplayWidth(string text)
    {
        var width = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            width += RuneWidth(rune);
        }

        return width;
    }

    private static int RuneWidth(Rune rune)
    {
        var value = rune.Value;
        if (value < 0x20 || value is >= 0x7F and <= 0x9F or 0xAD)
        {
            return 0;
        }

        if (value < 0x300)
        {
            return 1;
        }

        if (value is >= 0x200B and <= 0x200F or >= 0x2028 and <= 0x202E or >= 0x206A and <= 0x206F or 0xFEFF
            || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark)
        {
            return 0;
        }

        return value is >= 0x1100 and <= 0x115F or >= 0x2E80 and <= 0x303E or >= 0x3041 and <= 0x33FF or >= 0x3400 and <= 0x4DBF
            or >= 0x4E00 and <= 0x9FFF or >= 0xA000 and <= 0xA4CF or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF
            or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6 or >= 0x1F300 and <= 0x1F64F
            or >= 0x1F900 and <= 0x1F9FF or >= 0x20000 and <= 0x3FFFD
            ? 2
            : 1;
    }

    private static string Stringify(object cell)
    {
        var text = cell switch
        {
            string s => s,
            IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
            _ => cell.ToString() ?? "",
        };
        return ProcessLineBreaks(text.Replace("\t", "    ", StringComparison.Ordinal));
    }

    /// <summary>go-pretty's ProcessCRLF: <c>\r\n</c> is <c>\n</c>; a lone <c>\r</c> moves back to the start of its line, later text overwriting.</summary>
    private static string ProcessLineBreaks(string text)
    {
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (!text.Contains('\r', StringComparison.Ordinal))
        {
            return text;
        }

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var written = new List<Rune>();
            var cursor = 0;
            foreach (var rune in lines[i].EnumerateRunes())
            {
                if (rune.Value == '\r')
                {
                    cursor = 0;
                    continue;
                }

                if (cursor < written.Count)
                {
                    written[cursor] = rune;
                }
                else
                {
                    written.Add(rune);
                }

                cursor++;
            }

            lines[i] = string.Concat(written.Select(r => r.ToString()));
        }

        return string.Join('\n', lines);
    }

    private static void AddRow(List<string> lines, string[] cells, int[] widths, bool[] rightAligned, bool upperCase)
    {
        var cellLines = cells.Select(c => c.Split('\n')).ToArray();
        var height = cellLines.Length == 0 ? 1 : cellLines.Max(c => c.Length);
        for (var lineIndex = 0; lineIndex < height; lineIndex++)
        {
            var line = new StringBuilder("|");
            for (var column = 0; column < widths.Length; column++)
            {
                if (column > 0)
                {
                    line.Append('|');
                }

                var text = column < cellLines.Length && lineIndex < cellLines[column].Length ? cellLines[column][lineIndex] : "";
                if (upperCase)
                {
                    text = text.ToUpperInvariant();
                }

                line.Append(' ').Append(Align(text, widths[column], rightAligned[column])).Append(' ');
            }

            lines.Add(line.Append('|').ToString());
        }
    }

    private static string Align(string text, int width, bool right)
    {
        text = right ? text.TrimStart(' ') : text.TrimEnd(' ');
        var padding = Math.Max(0, width - DisplayWidth(text));
        return right ? new string(' ', padding) + text : text + new string(' ', padding);
    }
}
