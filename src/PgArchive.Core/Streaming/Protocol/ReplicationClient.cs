using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PgArchive.PostgresTypes;

namespace PgArchive.Streaming.Protocol;

/// <summary>What IDENTIFY_SYSTEM returns.</summary>
internal sealed record SystemIdentity(ulong SystemIdentifier, uint Timeline, Lsn XLogPos);

/// <summary>A physical replication slot: where WAL is kept from (null before it reserved any).</summary>
internal sealed record PhysicalSlot(string Name, Lsn? RestartLsn, uint? RestartTimeline);

/// <summary>
/// The replication commands of a walsender connection (IDENTIFY_SYSTEM, TIMELINE_HISTORY, READ_REPLICATION_SLOT,
/// CREATE_REPLICATION_SLOT, SHOW) over <see cref="PgWireConnection"/>, with one-line errors naming what failed.
/// </summary>
internal sealed partial class ReplicationClient : IAsyncDisposable
{
    private readonly PgConnectionSettings _settings;

    private ReplicationClient(PgWireConnection connection, PgConnectionSettings settings)
    {
        Connection = connection;
        _settings = settings;
    }

    public PgWireConnection Connection { get; }

    public int ServerVersionNum => Connection.ServerVersionNum;

    /// <summary>Opens a physical replication connection.</summary>
    public static async Task<ReplicationClient> OpenAsync(PgConnectionSettings settings, CancellationToken cancellationToken)
    {
        var connection = await PgWireConnection.OpenAsync(settings, replication: true, cancellationToken).ConfigureAwait(false);
        return new ReplicationClient(connection, settings);
    }

    public async Task<SystemIdentity> IdentifySystemAsync(CancellationToken cancellationToken)
    {
        var row = Single(await Connection.QueryAsync("IDENTIFY_SYSTEM", cancellationToken).ConfigureAwait(false), "IDENTIFY_SYSTEM");
        return new SystemIdentity(
            ulong.Parse(PgWireConnection.Text(row[0])!, CultureInfo.InvariantCulture),
            uint.Parse(PgWireConnection.Text(row[1])!, CultureInfo.InvariantCulture),
            Lsn.Parse(PgWireConnection.Text(row[2])!));
    }

    /// <summary>The server's WAL segment size (<c>SHOW wal_segment_size</c>: "16MB").</summary>
    public async Task<long> WalSegmentSizeAsync(CancellationToken cancellationToken)
    {
        var text = await ShowAsync("wal_segment_size", cancellationToken).ConfigureAwait(false);
        return ParseSize(text) ?? throw Connection.Protocol($"wal_segment_size '{text}' is not a size");
    }

    public async Task<string> ShowAsync(string setting, CancellationToken cancellationToken) =>
        PgWireConnection.Text(Single(await Connection.QueryAsync("SHOW " + setting, cancellationToken).ConfigureAwait(false), "SHOW " + setting)[0]) ?? "";

    /// <summary>"16MB" → 16777216; "8kB", "1GB", plain bytes.</summary>
    internal static long? ParseSize(string text)
    {
        var match = SizePattern().Match(text.Trim());
        if (!match.Success)
        {
            return null;
        }

        var number = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "" or "B" => number,
            "kB" => number << 10,
            "MB" => number << 20,
            "GB" => number << 30,
            "TB" => number << 40,
            _ => null,
        };
    }

    /// <summary>The history file of <paramref name="timeline"/>: its file name and content.</summary>
    public async Task<(string FileName, string Content)> TimelineHistoryAsync(uint timeline, CancellationToken cancellationToken)
    {
        var row = Single(await Connection.QueryAsync(string.Create(CultureInfo.InvariantCulture, $"TIMELINE_HISTORY {timeline}"), cancellationToken)
            .ConfigureAwait(false), "TIMELINE_HISTORY");
        return (PgWireConnection.Text(row[0])!, Encoding.UTF8.GetString(row[1] ?? []));
    }

    /// <summary>The physical slot <paramref name="name"/>, or null when the server has none of that name.</summary>
    public async Task<PhysicalSlot?> ReadSlotAsync(string name, CancellationToken cancellationToken)
    {
        ValidateSlotName(name);
        if (ServerVersionNum >= 150000)
        {
            var row = Single(await Connection.QueryAsync("READ_REPLICATION_SLOT " + name, cancellationToken).ConfigureAwait(false), "READ_REPLICATION_SLOT");
            var type = PgWireConnection.Text(row[0]);
            if (type is null)
            {
                return null;
            }

            if (type != "physical")
            {
                throw new PgArchiveConfigurationException($"Replication slot '{name}' is a {type} slot; wal-receive needs a physical one.");
            }

            return new PhysicalSlot(name, PgWireConnection.Text(row[1]) is { } lsn ? Lsn.Parse(lsn) : null,
                PgWireConnection.Text(row[2]) is { } tli ? uint.Parse(tli, CultureInfo.InvariantCulture) : null);
        }

        // Before 15 a walsender has no READ_REPLICATION_SLOT: ask pg_replication_slots over an ordinary connection.
        var sql = $"SELECT slot_type, restart_lsn::text FROM pg_replication_slots WHERE slot_name = '{name}'";
        var ordinary = await PgWireConnection.OpenAsync(_settings, replication: false, cancellationToken).ConfigureAwait(false);
        await using (ordinary.ConfigureAwait(false))
        {
            var rows = await ordinary.QueryAsync(sql, cancellationToken).ConfigureAwait(false);
            if (rows.Count == 0)
            {
                return null;
            }

            var type = PgWireConnection.Text(rows[0][0]);
            if (type != "physical")
            {
                throw new PgArchiveConfigurationException($"Replication slot '{name}' is a {type} slot; wal-receive needs a physical one.");
            }

            return new PhysicalSlot(name, PgWireConnection.Text(rows[0][1]) is { } lsn ? Lsn.Parse(lsn) : null, null);
        }
    }

    /// <summary>Creates a physical slot that reserves WAL at once.</summary>
    public async Task CreateSlotAsync(string name, CancellationToken cancellationToken)
    {
        ValidateSlotName(name);
        var command = ServerVersionNum >= 150000
            ? $"CREATE_REPLICATION_SLOT {name} PHYSICAL (RESERVE_WAL)"
            : $"CREATE_REPLICATION_SLOT {name} PHYSICAL RESERVE_WAL";
        await Connection.QueryAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Slot names are what PostgreSQL allows: lower-case letters, digits and underscores, at most 63.</summary>
    public static void ValidateSlotName(string name)
    {
        if (!IsValidSlotName(name))
        {
            throw new PgArchiveConfigurationException(
                $"Replication slot name '{name}' is not valid: use lower-case letters, digits and underscores, at most 63 characters.");
        }
    }

    /// <summary>Whether <paramref name="name"/> is a slot name PostgreSQL allows.</summary>
    public static bool IsValidSlotName(string name) => SlotNamePattern().IsMatch(name);

    private byte[]?[] Single(List<byte[]?[]> rows, string command) =>
        rows.Count == 1 ? rows[0] : throw Connection.Protocol(string.Create(CultureInfo.InvariantCulture, $"{command} returned {rows.Count} rows"));

    public ValueTask DisposeAsync() => Connection.DisposeAsync();

    [GeneratedRegex(@"^(\d+)\s*(B|kB|MB|GB|TB)?$", RegexOptions.CultureInvariant)]
    private static partial Regex SizePattern();

    [GeneratedRegex("^[a-z0-9_]{1,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex SlotNamePattern();
}
