using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PgArchive.Cli.Listings;

/// <summary>
/// JSON exactly as Go's <c>encoding/json</c> Encoder writes WAL-G's listings (<c>internal/printlist/entities.go</c>
/// listInJSON: <c>json.NewEncoder(output)</c>, <c>SetIndent("", "    ")</c> with <c>--pretty</c>, <c>Encode</c>), written
/// from Go's <c>src/encoding/json</c>:
/// <list type="bullet">
/// <item>compact, or with <c>SetIndent</c> as <c>indent.go</c> appendIndent writes it: a line per member or element, four
/// spaces per level, <c>": "</c> after names, <c>[]</c> and <c>{}</c> kept on one line; Encode ends with <c>\n</c>;</item>
/// <item>strings as <c>encode.go</c> appendString writes them with HTML escaping on (the Encoder's default): <c>\"</c>,
/// <c>\\</c>, <c>\b \f \n \r \t</c>, other control characters and <c>&lt; &gt; &amp;</c> as <c>\u00XX</c> (lower-case
/// hexadecimal), U+2028 and U+2029 escaped, invalid text as <c>\ufffd</c>, everything else as is (UTF-8, not escaped);</item>
/// <item>a value decoded into an <c>interface{}</c> (WAL-G's <c>user_data</c>), written back as Go writes what it decoded:
/// objects as maps (one value per name, the last; names sorted by their UTF-8 bytes), numbers as float64
/// (<c>encode.go</c> floatEncoder: shortest digits, <c>1e+21</c> and <c>1e-7</c> forms outside [1e-6, 1e21)).</item>
/// </list>
/// </summary>
internal sealed class GoJsonWriter(bool indented)
{
    private const string Indent = "    ";

    private readonly StringBuilder _text = new();
    private readonly Stack<bool> _hasElements = new(); // per open array or object
    private bool _afterName;

    /// <summary>The document as Encode writes it, with its final line end.</summary>
    public override string ToString() => _text.ToString() + "\n";

    public void StartArray() => Open('[');

    public void EndArray() => Close(']');

    public void StartObject() => Open('{');

    public void EndObject() => Close('}');

    public void Name(string name)
    {
        BeforeValue();
        AppendString(name);
        _text.Append(indented ? ": " : ":");
        _afterName = true;
    }

    public void String(string value)
    {
        BeforeValue();
        AppendString(value);
    }

    public void Number(long value)
    {
        BeforeValue();
        _text.Append(value.ToString(CultureInfo.InvariantCulture));
    }

    public void Number(ulong value)
    {
        BeforeValue();
        _text.Append(value.ToString(CultureInfo.InvariantCulture));
    }

    public void Boolean(bool value)
    {
        BeforeValue();
        _text.Append(value ? "true" : "false");
    }

    public void Null()
    {
        BeforeValue();
        _text.Append("null");
    }

    /// <summary>Writes <paramref name="value"/> as Go writes the <c>interface{}</c> json.Unmarshal made of it.</summary>
    public void Decoded(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                StartObject();
                var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var member in value.EnumerateObject())
                {
                    members[member.Name] = member.Value; // a map keeps the last value of a name
                }

                foreach (var (name, member) in members.OrderBy(m => Encoding.UTF8.GetBytes(m.Key), Utf8Order.Instance))
                {
                    Name(name);
                    Decoded(member);
                }

                EndObject();
                break;
            case JsonValueKind.Array:
                StartArray();
                foreach (var element in value.EnumerateArray())
                {
                    Decoded(element);
                }

                EndArray();
                break;
            case JsonValueKind.String:
                String(value.GetString()!);
                break;
            case JsonValueKind.Number:
                BeforeValue();
                _text.Append(value.TryGetDouble(out var number) && double.IsFinite(number) ? Float64(number) : value.GetRawText());
                break;
            case JsonValueKind.True or JsonValueKind.False:
                Boolean(value.GetBoolean());
                break;
            default:
                Null();
                break;
        }
    }

    /// <summary>Go's float64 encoding: <c>strconv.AppendFloat(f, 'f' or 'e', -1, 64)</c>, exponents without a leading zero.</summary>
    internal static string Float64(double value)
    {
        if (value == 0)
        {
            return double.IsNegative(value) ? "-0" : "0";
        }

        // The shortest digits that read back as the same double (.NET's "R", like Go's -1 precision), and where the point goes.
        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = shortest[0] == '-';
        var unsigned = negative ? shortest[1..] : shortest;
        var exponentAt = unsigned.IndexOf('E', StringComparison.Ordinal);
        var mantissa = exponentAt < 0 ? unsigned : unsigned[..exponentAt];
        var exponent = exponentAt < 0 ? 0 : int.Parse(unsigned[(exponentAt + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = mantissa.Replace(".", "", StringComparison.Ordinal);
        var pointAt = (point < 0 ? mantissa.Length : point) + exponent; // value = 0.digits × 10^pointAt
        var trimmed = digits.TrimStart('0');
        pointAt -= digits.Length - trimmed.Length;
        digits = trimmed.TrimEnd('0');

        var text = new StringBuilder(negative ? "-" : "");
        var magnitude = Math.Abs(value);
        if (magnitude is < 1e-6 or >= 1e21)
        {
            text.Append(digits[0]);
            if (digits.Length > 1)
            {
                text.Append('.').Append(digits, 1, digits.Length - 1);
            }

            var power = pointAt - 1;
            text.Append('e').Append(power < 0 ? '-' : '+');
            // Go writes at least two exponent digits, then the encoder turns e-07 into e-7 (and leaves e+21 alone).
            text.Append(Math.Abs(power).ToString(power < 0 ? "D1" : "D2", CultureInfo.InvariantCulture));
        }
        else if (pointAt <= 0)
        {
            text.Append("0.").Append('0', -pointAt).Append(digits);
        }
        else if (pointAt >= digits.Length)
        {
            text.Append(digits).Append('0', pointAt - digits.Length);
        }
        else
        {
            text.Append(digits, 0, pointAt).Append('.').Append(digits, pointAt, digits.Length - pointAt);
        }

        return text.ToString();
    }

    private void Open(char bracket)
    {
        BeforeValue();
        _text.Append(bracket);
        _hasElements.Push(false);
    }

    private void Close(char bracket)
    {
        if (_hasElements.Pop() && indented)
        {
            NewLine();
        }

        _text.Append(bracket);
    }

    private void BeforeValue()
    {
        if (_afterName)
        {
            _afterName = false;
            return;
        }

        if (_hasElements.Count == 0)
        {
            return;
        }

        if (_hasElements.Pop())
        {
            _text.Append(',');
        }

        _hasElements.Push(true);
        if (indented)
        {
            NewLine();
        }
    }

    private void NewLine()
    {
        _text.Append('\n');
        for (var level = 0; level < _hasElements.Count; level++)
        {
            _text.Append(Indent);
        }
    }

    private void AppendString(string value)
    {
        _text.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var ch = value[i];
            switch (ch)
            {
                case '"':
                    _text.Append("\\\"");
                    break;
                case '\\':
                    _text.Append("\\\\");
                    break;
                case '\b':
                    _text.Append("\\b");
                    break;
                case '\f':
                    _text.Append("\\f");
                    break;
                case '\n':
                    _text.Append("\\n");
                    break;
                case '\r':
                    _text.Append("\\r");
                    break;
                case '\t':
                    _text.Append("\\t");
                    break;
                case < ' ' or '<' or '>' or '&':
                    _text.Append("\\u00").Append(((int)ch).ToString("x2", CultureInfo.InvariantCulture));
                    break;
                case '\u2028' or '\u2029':
                    _text.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (char.IsHighSurrogate(ch) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                    {
                        _text.Append(ch).Append(value[++i]);
                    }
                    else if (char.IsSurrogate(ch))
                    {
                        _text.Append("\\ufffd"); // not a character: Go writes invalid UTF-8 so
                    }
                    else
                    {
                        _text.Append(ch);
                    }

                    break;
            }
        }

        _text.Append('"');
    }

    /// <summary>Go's string order: byte by byte of the UTF-8 encoding.</summary>
    private sealed class Utf8Order : IComparer<byte[]>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
