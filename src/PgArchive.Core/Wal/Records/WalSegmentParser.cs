using System.Buffers.Binary;
using System.Globalization;

namespace PgArchive.Wal.Records;

/// <summary>The map of a segment, or why none could be made.</summary>
internal sealed record WalSegmentParse(WalBlockMap? Map, string? Reason);

/// <summary>
/// Reads one WAL segment page by page (long or short page headers, records continued across pages,
/// XLP_FIRST_IS_CONTRECORD and xlp_rem_len) and decodes every record that starts in it. Memory is one page plus the
/// record being assembled (at most <see cref="WalBlockMap.MaxKeptRecordBytes"/> of it).
/// </summary>
internal static class WalSegmentParser
{
    private const int LongHeaderSize = 40;
    private const int ShortHeaderSize = 24;
    private const ushort FirstIsContRecord = 0x0001;
    private const ushort LongHeader = 0x0002;

    /// <summary>
    /// Parses <paramref name="segment"/> (read from its start) into a block map; <paramref name="onRecord"/>, when given,
    /// sees every record that starts and ends in it.
    /// </summary>
    public static async Task<WalSegmentParse> ParseAsync(Stream segment, Action<WalDecodedRecord>? onRecord, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var first = new byte[LongHeaderSize];
        if (await segment.ReadAtLeastAsync(first, LongHeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < LongHeaderSize)
        {
            return new(null, "the file is shorter than a WAL page header");
        }

        var magic = BinaryPrimitives.ReadUInt16LittleEndian(first);
        var info = BinaryPrimitives.ReadUInt16LittleEndian(first.AsSpan(2));
        if ((info & LongHeader) == 0)
        {
            return new(null, "it does not start with a long page header");
        }

        if (WalFormat.FromMagic(magic) is not { } format)
        {
            return new(null, string.Create(CultureInfo.InvariantCulture,
                $"its WAL page magic {magic:X4} belongs to no PostgreSQL version this build parses (it knows {WalFormat.Accepted})"));
        }

        var segmentSize = BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(32));
        var pageSize = BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(36));
        var start = BinaryPrimitives.ReadUInt64LittleEndian(first.AsSpan(8));
        if (!uint.IsPow2(segmentSize) || segmentSize < (1u << 20) || segmentSize > (1u << 30) || !uint.IsPow2(pageSize) || pageSize < 1024 ||
            pageSize > 65536 || start % segmentSize != 0)
        {
            return new(null, string.Create(CultureInfo.InvariantCulture,
                $"its long page header gives an impossible segment size {segmentSize}, page size {pageSize} or address {start:X}"));
        }

        var map = new WalBlockMap
        {
            PageMagic = magic,
            Timeline = BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(4)),
            SegmentNumber = start / segmentSize,
            SegmentSize = segmentSize,
        };
        var state = new State(map, format, onRecord);
        var page = new byte[pageSize];
        first.CopyTo(page, 0);
        var have = LongHeaderSize;
        try
        {
            return await ReadPagesAsync(segment, map, state, page, have, start, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException ex)
        {
            return new(null, ex.Message);
        }
    }

    private static async Task<WalSegmentParse> ReadPagesAsync(Stream segment, WalBlockMap map, State state, byte[] page, int have, ulong start,
        CancellationToken cancellationToken)
    {
        var segmentSize = map.SegmentSize;
        var pageSize = (uint)page.Length;
        for (uint pageStart = 0; pageStart < segmentSize; pageStart += pageSize)
        {
            var read = have + await segment.ReadAtLeastAsync(page.AsMemory(have), page.Length - have, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            have = 0;
            if (read < page.Length || !state.Page(page, start + pageStart))
            {
                map.ValidBytes = state.EndOffset ?? pageStart;
                state.Finish();
                return new(map, null);
            }
        }

        map.ValidBytes = segmentSize;
        state.Finish();
        return new(map, null);
    }

    private sealed class State(WalBlockMap map, WalFormat format, Action<WalDecodedRecord>? onRecord)
    {
        private readonly WalDecodedRecord _record = new();
        private byte[] _buffer = new byte[1 << 16];
        private int _kept;               // bytes of the current record in _buffer
        private uint _collected;         // bytes of the current record seen
        private bool _inRecord;
        private uint _continuationLeft;  // bytes of the record continued from the previous segment still to skip
        private List<byte>? _continuation;

        /// <summary>Offset in the segment where valid WAL ended inside a page, if it did.</summary>
        public uint? EndOffset { get; private set; }

        /// <summary>Consumes one page; false when valid WAL ends in or before it.</summary>
        public bool Page(byte[] page, ulong pageLsn)
        {
            var span = page.AsSpan();
            var offsetInSegment = (uint)(pageLsn - map.StartLsn);
            var info = BinaryPrimitives.ReadUInt16LittleEndian(span[2..]);
            if (BinaryPrimitives.ReadUInt16LittleEndian(span) != format.Magic || BinaryPrimitives.ReadUInt64LittleEndian(span[8..]) != pageLsn)
            {
                return false; // a page never written (zeros) or left from the file's earlier use
            }

            var remaining = BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
            var offset = (info & LongHeader) != 0 ? LongHeaderSize : ShortHeaderSize;
            if ((info & FirstIsContRecord) != 0)
            {
                if (offsetInSegment == 0)
                {
                    map.ContinuationLength = _continuationLeft = remaining;
                    _continuation = [];
                }
                else if (!_inRecord || remaining != _record.TotalLength - _collected)
                {
                    // Not the record being assembled (the page disagrees with it, or none is): skip what continues.
                    _inRecord = false;
                    _continuationLeft = remaining;
                }
            }
            else
            {
                _inRecord = false; // a record left unfinished was overwritten (XLP_FIRST_IS_OVERWRITE_CONTRECORD)
                _continuationLeft = 0;
            }

            if (_continuationLeft > 0)
            {
                var n = (int)Math.Min(_continuationLeft, (uint)(page.Length - offset));
                if (_continuation is not null && _continuation.Count < WalBlockMap.MaxKeptRecordBytes)
                {
                    _continuation.AddRange(span.Slice(offset, Math.Min(n, WalBlockMap.MaxKeptRecordBytes - _continuation.Count)));
                }

                _continuationLeft -= (uint)n;
                offset += n;
                if (_continuationLeft > 0)
                {
                    return true;
                }

                offset = Align(offset);
            }

            if (_inRecord)
            {
                offset = Append(span, offset);
                if (_inRecord)
                {
                    return true;
                }
            }

            while (offset < page.Length)
            {
                var total = BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
                if (total < WalRecordDecoder.RecordHeaderSize)
                {
                    EndOffset = offsetInSegment + (uint)offset; // zeros: the end of WAL (after a switch, or of what was written)
                    return false;
                }

                _record.Reset(new PostgresTypes.Lsn(pageLsn + (uint)offset), total);
                _kept = 0;
                _collected = 0;
                _inRecord = true;
                offset = Append(span, offset);
                if (_inRecord)
                {
                    return true;
                }
            }

            return true;
        }

        /// <summary>Records what is left at the segment's end: the continuation seen and the record cut by the end.</summary>
        public void Finish()
        {
            if (_continuation is not null)
            {
                map.ContinuationBytes = [.. _continuation];
            }

            if (_inRecord)
            {
                map.TailLsn = _record.Lsn.Value;
                map.TailTotalLength = _record.TotalLength;
                map.TailLengthHere = _collected;
                map.TailBytes = _buffer.AsSpan(0, _kept).ToArray();
            }
        }

        /// <summary>Adds the current record's bytes found on the page from <paramref name="offset"/>; decodes it once complete.</summary>
        private int Append(ReadOnlySpan<byte> page, int offset)
        {
            var n = (int)Math.Min(_record.TotalLength - _collected, (uint)(page.Length - offset));
            var keep = Math.Min(n, WalBlockMap.MaxKeptRecordBytes - _kept);
            if (keep > 0)
            {
                if (_kept + keep > _buffer.Length)
                {
                    Array.Resize(ref _buffer, (int)Math.Min(WalBlockMap.MaxKeptRecordBytes, Math.Max(_buffer.Length * 2L, _kept + keep)));
                }

                page.Slice(offset, keep).CopyTo(_buffer.AsSpan(_kept));
                _kept += keep;
            }

            _collected += (uint)n;
            offset += n;
            if (_collected < _record.TotalLength)
            {
                return offset;
            }

            _inRecord = false;
            var outcome = WalRecordDecoder.Decode(_buffer.AsSpan(0, _kept), _record.TotalLength, format, _record);
            if (outcome != WalDecodeOutcome.Complete)
            {
                map.Unusable ??= string.Create(CultureInfo.InvariantCulture,
                    $"the record at {_record.Lsn} is {_record.TotalLength} bytes, more than the {WalBlockMap.MaxKeptRecordBytes} kept, and its main data sets limit blocks");
            }

            map.Changes.Add(_record);
            onRecord?.Invoke(_record);
            return Align(offset);
        }

        private static int Align(int offset) => (offset + 7) & ~7;
    }
}
