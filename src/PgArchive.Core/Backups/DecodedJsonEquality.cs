using System.Text.Json;

namespace PgArchive.Backups;

/// <summary>
/// JSON values compared as Go compares what <c>json.Unmarshal</c> decodes them into (<c>interface{}</c>) with
/// <c>reflect.DeepEqual</c>: objects as maps (names in any order, the last value of a repeated name), arrays element by
/// element, numbers as float64 (<c>1</c> equals <c>1.0</c>), and JSON null as nil.
/// </summary>
internal static class DecodedJsonEquality
{
    public static bool Equal(JsonElement left, JsonElement right)
    {
        if (left.ValueKind is JsonValueKind.True or JsonValueKind.False && right.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return left.ValueKind == right.ValueKind;
        }

        if (left.ValueKind != right.ValueKind)
        {
            return false;
        }

        switch (left.ValueKind)
        {
            case JsonValueKind.Object:
                var ours = Members(left);
                var theirs = Members(right);
                return ours.Count == theirs.Count && ours.All(m => theirs.TryGetValue(m.Key, out var other) && Equal(m.Value, other));
            case JsonValueKind.Array:
                return left.GetArrayLength() == right.GetArrayLength() && left.EnumerateArray().Zip(right.EnumerateArray()).All(p => Equal(p.First, p.Second));
            case JsonValueKind.String:
                return string.Equals(left.GetString(), right.GetString(), StringComparison.Ordinal);
            case JsonValueKind.Number:
                return left.TryGetDouble(out var a) && right.TryGetDouble(out var b) ? a == b : left.GetRawText() == right.GetRawText();
            default:
                return true; // both null (or both undefined)
        }
    }

    private static Dictionary<string, JsonElement> Members(JsonElement element)
    {
        var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var member in element.EnumerateObject())
        {
            members[member.Name] = member.Value;
        }

        return members;
    }
}
