using PgArchive.Compression;
using PgArchive.Storage;

namespace PgArchive.Wal;

/// <summary>
/// Finds WAL files in the archive by listing: one listing for names that share a timeline and log id (a segment and the
/// ones after it, as prefetching and a standby ask for), instead of a read per compression extension. A name matches only
/// itself plus a known compression extension (a segment's <c>.partial</c> or <c>.backup</c> file is another name); stored
/// under several, the configured compression wins, then the order the codecs are probed in.
/// </summary>
internal static class WalLocator
{
    /// <summary>The key each of <paramref name="walFileNames"/> is archived under, for those the archive holds.</summary>
    public static async Task<Dictionary<string, string>> LocateAsync(IObjectStore store, CompressorRegistry compressors, IReadOnlyList<string> walFileNames,
        CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var rank = compressors.ProbeOrder.Select((c, i) => (c.FileExtension, i)).ToDictionary(e => e.FileExtension, e => e.i, StringComparer.Ordinal);
        // Names of one timeline and log share their first 16 characters; a listing of their common prefix covers them.
        foreach (var group in walFileNames.Distinct(StringComparer.Ordinal).GroupBy(n => n.Length >= 16 ? n[..16] : n, StringComparer.Ordinal))
        {
            var names = group.ToList();
            var prefix = ArchiveLayout.WalPrefix + names.Aggregate((a, b) => a[..CommonPrefixLength(a, b)]);
            var best = new Dictionary<string, (string Key, int Rank)>(StringComparer.Ordinal);
            await foreach (var info in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                var stored = info.Key[ArchiveLayout.WalPrefix.Length..];
                foreach (var name in names)
                {
                    if (!stored.StartsWith(name, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var extension = stored.Length == name.Length ? "" : stored[name.Length] == '.' ? stored[(name.Length + 1)..] : null;
                    if (extension is not null && rank.TryGetValue(extension, out var order) && (!best.TryGetValue(name, out var current) || order < current.Rank))
                    {
                        best[name] = (info.Key, order);
                    }
                }
            }

            foreach (var (name, (key, _)) in best)
            {
                found[name] = key;
            }
        }

        return found;
    }

    /// <summary>True when the archive holds any WAL file (segment, history, partial) of <paramref name="timeline"/>; lists until the first.</summary>
    public static async Task<bool> HoldsTimelineAsync(IObjectStore store, uint timeline, CancellationToken cancellationToken)
    {
        var prefix = ArchiveLayout.WalPrefix + timeline.ToString("X8", System.Globalization.CultureInfo.InvariantCulture);
        await foreach (var _ in store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }

    private static int CommonPrefixLength(string a, string b)
    {
        var length = Math.Min(a.Length, b.Length);
        var i = 0;
        while (i < length && a[i] == b[i])
        {
            i++;
        }

        return i;
    }
}
