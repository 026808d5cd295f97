using System.Globalization;

namespace PgArchive.PostgresTypes;

/// <summary>One line of a timeline history file: the parent timeline was followed up to <paramref name="SwitchLsn"/>.</summary>
/// <param name="ParentTimeline">An ancestor timeline.</param>
/// <param name="SwitchLsn">Where the next timeline branched off it.</param>
/// <param name="Reason">PostgreSQL's comment, e.g. <c>no recovery target specified</c>.</param>
public sealed record TimelineHistoryEntry(uint ParentTimeline, Lsn SwitchLsn, string Reason);

/// <summary>
/// A timeline's history (<c>0000000N.history</c>, written by PostgreSQL at promotion): its ancestors, oldest
/// first, each with the LSN at which it was left.
/// </summary>
public sealed class TimelineHistory
{
    private TimelineHistory(uint timeline, IReadOnlyList<TimelineHistoryEntry> entries)
    {
        Timeline = timeline;
        Entries = entries;
    }

    /// <summary>The timeline this history describes.</summary>
    public uint Timeline { get; }

    /// <summary>The ancestors, oldest first; empty for timeline 1.</summary>
    public IReadOnlyList<TimelineHistoryEntry> Entries { get; }

    /// <summary>The timeline this one branched from (0 for none).</summary>
    public uint Parent => Entries.Count == 0 ? 0 : Entries[^1].ParentTimeline;

    /// <summary>Where this timeline branched from its parent (0 for none).</summary>
    public Lsn SwitchLsn => Entries.Count == 0 ? default : Entries[^1].SwitchLsn;

    /// <summary>The history of a timeline that has no ancestors.</summary>
    public static TimelineHistory Root(uint timeline) => new(timeline, []);

    /// <summary>Parses a history file's text (tab-separated: timeline, LSN, reason; '#' comments).</summary>
    /// <exception cref="FormatException">A line is not a history entry.</exception>
    public static TimelineHistory Parse(uint timeline, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<TimelineHistoryEntry>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split('\t', 3);
            if (fields.Length < 2 || !uint.TryParse(fields[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parent) ||
                !Lsn.TryParse(fields[1].Trim(), out var lsn))
            {
                throw new FormatException($"'{line}' is not a timeline history entry (timeline, tab, LSN, tab, reason).");
            }

            entries.Add(new TimelineHistoryEntry(parent, lsn, fields.Length > 2 ? fields[2].Trim() : ""));
        }

        return new TimelineHistory(timeline, entries);
    }

    /// <summary>
    /// True when the point <paramref name="lsn"/> of <paramref name="timeline"/> is part of this timeline's past
    /// (or of the timeline itself): recovery that follows this timeline passes through it.
    /// </summary>
    public bool Contains(uint timeline, Lsn lsn) =>
        timeline == Timeline || Entries.Any(e => e.ParentTimeline == timeline && lsn < e.SwitchLsn);

    /// <summary>
    /// The timeline whose file holds segment <paramref name="segmentNumber"/> along this timeline's history:
    /// the first ancestor that was left after the segment began, else this timeline.
    /// </summary>
    public uint TimelineOfSegment(ulong segmentNumber, long segmentSize)
    {
        foreach (var entry in Entries)
        {
            if (segmentNumber < entry.SwitchLsn.Value / (ulong)segmentSize)
            {
                return entry.ParentTimeline;
            }
        }

        return Timeline;
    }
}
