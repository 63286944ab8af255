package io.dstack.vpn.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/** Tables for people, JSON or YAML for scripts: the same rows either way. */
public final class Output {
    public enum Format {
        table, json, yaml
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private Output() {
    }

    public static void rows(PrintWriter out, Format format, List<String> columns, List<Map<String, Object>> rows) {
        switch (format) {
            case json -> write(out, JSON, rows);
            case yaml -> write(out, YAML, rows);
            case table -> table(out, columns, rows);
        }
    }

    public static void object(PrintWriter out, Format format, Map<String, Object> object) {
        switch (format) {
            case json -> write(out, JSON, object);
            case yaml -> write(out, YAML, object);
            case table -> object.forEach((k, v) -> out.printf("%-16s %s%n", k + ":", v == null ? "" : v));
        }
        out.flush();
    }

    public static Map<String, Object> map(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    private static void write(PrintWriter out, ObjectMapper mapper, Object value) {
        try {
            out.println(mapper.writeValueAsString(value).strip());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        out.flush();
    }

    private static void table(PrintWriter out, List<String> columns, List<Map<String, Object>> rows) {
        int[] width = new int[columns.size()];
        for (int i = 0; i < columns.size(); i++) {
            width[i] = columns.get(i).length();
            for (Map<String, Object> r : rows) {
                width[i] = Math.max(width[i], String.valueOf(r.getOrDefault(columns.get(i), "")).length());
            }
        }
        StringBuilder header = new StringBuilder();
        for (int i = 0; i < columns.size(); i++) {
            header.append(pad(columns.get(i).toUpperCase(), width[i], i == columns.size() - 1));
        }
        out.println(header.toString().stripTrailing());
        for (Map<String, Object> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns.size(); i++) {
                Object v = r.get(columns.get(i));
                line.append(pad(v == null ? "" : v.toString(), width[i], i == columns.size() - 1));
            }
            out.println(line.toString().stripTrailing());
        }
        out.flush();
    }

    private static String pad(String s, int width, boolean last) {
        return last ? s : String.format("%-" + (width + 3) + "s", s);
    }
}
