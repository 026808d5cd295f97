using System.Text.Json;

namespace PgArchive.Backups;

/// <summary>
/// --target-user-data and --delta-from-user-data find a backup by its user data as WAL-G's UserDataBackupSelector does:
/// <c>reflect.DeepEqual</c> of what <c>json.Unmarshal</c> decodes into an <c>interface{}</c>.
/// </summary>
public sealed class DecodedJsonEqualityTests
{
    [Theory]
    [InlineData("""{"a":1,"b":[true,null,"x"]}""", """{ "b": [true, null, "x"], "a": 1.0 }""")] // names in any order; 1 and 1.0 are float64(1)
    [InlineData("""{"a":1,"a":2}""", """{"a":2}""")] // a map keeps the last value of a name
    [InlineData("1e2", "100")]
    [InlineData("-0", "0")] // float64 -0 == 0
    [InlineData("\"\\u00e9\"", "\"é\"")]
    [InlineData("null", "null")]
    public void Equal_values_as_Go_decodes_them(string left, string right) => Assert.True(Equal(left, right));

    [Theory]
    [InlineData("""{"a":1}""", """{"a":1,"b":2}""")]
    [InlineData("[1,2]", "[2,1]")]
    [InlineData("\"1\"", "1")]
    [InlineData("true", "false")]
    [InlineData("{}", "[]")]
    [InlineData("null", "{}")]
    public void Different_values_as_Go_decodes_them(string left, string right) => Assert.False(Equal(left, right));

    private static bool Equal(string left, string right)
    {
        using var a = JsonDocument.Parse(left);
        using var b = JsonDocument.Parse(right);
        return DecodedJsonEquality.Equal(a.RootElement, b.RootElement) && DecodedJsonEquality.Equal(b.RootElement, a.RootElement);
    }
}
