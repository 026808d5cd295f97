using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace PgArchive.PostgresTypes;

/// <summary>A PostgreSQL log sequence number: a byte position in the WAL, written <c>16/B374D848</c>.</summary>
public readonly record struct Lsn(ulong Value) : IComparable<Lsn>
{
    /// <summary>Parses the <c>X/X</c> text form.</summary>
    /// <exception cref="FormatException">When <paramref name="text"/> is not an LSN.</exception>
    public static Lsn Parse(string text) =>
        TryParse(text, out var lsn) ? lsn : throw new FormatException($"'{text}' is not an LSN (expected hexadecimal 'X/X', e.g. 0/16B3748).");

    /// <summary>Parses the <c>X/X</c> text form.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Lsn lsn)
    {
        lsn = default;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash <= 0 || slash > 8 || text.Length - slash - 1 is < 1 or > 8)
        {
            return false;
        }

        if (!uint.TryParse(text.AsSpan(0, slash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var high) ||
            !uint.TryParse(text.AsSpan(slash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var low))
        {
            return false;
        }

        lsn = new Lsn(((ulong)high << 32) | low);
        return true;
    }

    /// <inheritdoc />
    public int CompareTo(Lsn other) => Value.CompareTo(other.Value);

    /// <summary>Compares two LSNs.</summary>
    public static bool operator <(Lsn left, Lsn right) => left.Value < right.Value;

    /// <summary>Compares two LSNs.</summary>
    public static bool operator >(Lsn left, Lsn right) => left.Value > right.Value;

    /// <summary>Compares two LSNs.</summary>
    public static bool operator <=(Lsn left, Lsn right) => left.Value <= right.Value;

    /// <summary>Compares two LSNs.</summary>
    public static bool operator >=(Lsn left, Lsn right) => left.Value >= right.Value;

    /// <summary>The <c>X/X</c> text form, as PostgreSQL prints it.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Value >> 32:X}/{Value & 0xFFFFFFFF:X}");
}
