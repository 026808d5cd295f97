using System.Text;

namespace PgArchive.Backups;

/// <summary>
/// Shell file patterns as Go's <c>path/filepath.Match</c> reads them on Unix (written from Go's
/// <c>src/path/filepath/match.go</c>), which WAL-G's <c>backup-fetch --mask</c> uses: <c>*</c> any run of characters
/// but <c>/</c>, <c>?</c> one character but <c>/</c>, <c>[a-z]</c> and <c>[^a-z]</c> classes, <c>\</c> escaping the next
/// character; the whole name must match.
/// </summary>
internal static class GoFilePattern
{
    /// <summary>Whether <paramref name="pattern"/> is well formed (Go's Match returns no ErrBadPattern for it).</summary>
    public static bool IsValid(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return TryMatch(pattern, "", out _);
    }

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/>; false for a malformed pattern.</summary>
    public static bool IsMatch(string pattern, string name)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(name);
        return TryMatch(pattern, name, out var matched) && matched;
    }

    /// <summary>Go's Match: false when the pattern is malformed.</summary>
    private static bool TryMatch(string patternText, string nameText, out bool matched)
    {
        ReadOnlySpan<Rune> pattern = [.. patternText.EnumerateRunes()];
        ReadOnlySpan<Rune> name = [.. nameText.EnumerateRunes()];
        matched = false;
        while (pattern.Length > 0)
        {
            var star = ScanChunk(ref pattern, out var chunk);
            if (star && chunk.IsEmpty)
            {
                // a trailing * matches the rest of the name unless it holds a /
                matched = name.IndexOf(new Rune('/')) < 0;
                return true;
            }

            // at the current position; the last chunk must use up the name
            if (!MatchChunk(chunk, name, out var remaining, out var ok))
            {
                return false;
            }

            if (ok && (remaining.IsEmpty || pattern.Length > 0))
            {
                name = remaining;
                continue;
            }

            var advanced = false;
            if (star)
            {
                // further on, never past a /
                for (var i = 0; i < name.Length && name[i].Value != '/'; i++)
                {
                    if (!MatchChunk(chunk, name[(i + 1)..], out remaining, out ok))
                    {
                        return false;
                    }

                    if (ok && !(pattern.IsEmpty && !remaining.IsEmpty))
                    {
                        name = remaining;
                        advanced = true;
                        break;
                    }
                }
            }

            if (advanced)
            {
                continue;
            }

            // no match: the rest of the pattern must still be well formed
            while (pattern.Length > 0)
            {
                ScanChunk(ref pattern, out chunk);
                if (!MatchChunk(chunk, [], out _, out _))
                {
                    return false;
                }
            }

            return true;
        }

        matched = name.IsEmpty;
        return true;
    }

    /// <summary>Go's scanChunk: leading stars, then the chunk up to the next star outside a class; the pattern is what follows.</summary>
    private static bool ScanChunk(ref ReadOnlySpan<Rune> pattern, out ReadOnlySpan<Rune> chunk)
    {
        var star = false;
        while (pattern.Length > 0 && pattern[0].Value == '*')
        {
            pattern = pattern[1..];
            star = true;
        }

        var inRange = false;
        var i = 0;
        for (; i < pattern.Length; i++)
        {
            var c = pattern[i].Value;
            if (c == '\\')
            {
                if (i + 1 < pattern.Length)
                {
                    i++;
                }
            }
            else if (c == '[')
            {
                inRange = true;
            }
            else if (c == ']')
            {
                inRange = false;
            }
            else if (c == '*' && !inRange)
            {
                break;
            }
        }

        chunk = pattern[..i];
        pattern = pattern[i..];
        return star;
    }

    /// <summary>Go's matchChunk: false when the chunk is malformed; else <paramref name="ok"/> and what of the name is left.</summary>
    private static bool MatchChunk(ReadOnlySpan<Rune> chunk, ReadOnlySpan<Rune> name, out ReadOnlySpan<Rune> rest, out bool ok)
    {
        rest = default;
        ok = false;
        var failed = false;
        while (chunk.Length > 0)
        {
            if (!failed && name.IsEmpty)
            {
                failed = true;
            }

            var c = chunk[0].Value;
            if (c == '[')
            {
                var r = -1;
                if (!failed)
                {
                    r = name[0].Value;
                    name = name[1..];
                }

                chunk = chunk[1..];
                var negated = false;
                if (chunk.Length > 0 && chunk[0].Value == '^')
                {
                    negated = true;
                    chunk = chunk[1..];
                }

                var match = false;
                var ranges = 0;
                while (true)
                {
                    if (chunk.Length > 0 && chunk[0].Value == ']' && ranges > 0)
                    {
                        chunk = chunk[1..];
                        break;
                    }

                    if (!GetEscaped(ref chunk, out var lo))
                    {
                        return false;
                    }

                    var hi = lo;
                    if (chunk[0].Value == '-')
                    {
                        chunk = chunk[1..];
                        if (!GetEscaped(ref chunk, out hi))
                        {
                            return false;
                        }
                    }

                    if (lo <= r && r <= hi)
                    {
                        match = true;
                    }

                    ranges++;
                }

                if (match == negated)
                {
                    failed = true;
                }
            }
            else if (c == '?')
            {
                if (!failed)
                {
                    failed = name[0].Value == '/';
                    name = name[1..];
                }

                chunk = chunk[1..];
            }
            else
            {
                if (c == '\\')
                {
                    chunk = chunk[1..];
                    if (chunk.IsEmpty)
                    {
                        return false;
                    }
                }

                if (!failed)
                {
                    failed = chunk[0] != name[0];
                    name = name[1..];
                }

                chunk = chunk[1..];
            }
        }

        if (!failed)
        {
            rest = name;
            ok = true;
        }

        return true;
    }

    /// <summary>Go's getEsc: one character of a class, escaped or not; false when the class is malformed there.</summary>
    private static bool GetEscaped(ref ReadOnlySpan<Rune> chunk, out int value)
    {
        value = 0;
        if (chunk.IsEmpty || chunk[0].Value is '-' or ']')
        {
            return false;
        }

        if (chunk[0].Value == '\\')
        {
            chunk = chunk[1..];
            if (chunk.IsEmpty)
            {
                return false;
            }
        }

        value = chunk[0].Value;
        chunk = chunk[1..];
        return !chunk.IsEmpty;
    }
}
